# shellcheck shell=bash
# Sourced by .ci/test: makes sure Debian's chromium is installed for the
# agent console's browser tests (channels/web/console, chromedp), which
# fail, not skip, without it.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    return
  fi
  echo "chromium is missing; installing it with apt-get (the console's browser tests need it)" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
}
