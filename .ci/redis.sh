# Sourced by .ci/test and scripts/bench-core: makes sure redis-server is
# installed and starts a throwaway one on a free loopback port, stopped when
# the calling script exits. Sets REDIS_PORT and REDIS_URL.

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  echo "redis-server is missing; installing it with apt-get" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >&2
}

# free_port prints a loopback TCP port nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free port found" >&2
  return 1
}

start_redis() {
  ensure_redis
  REDIS_PORT=$(free_port)
  REDIS_DIR=$(mktemp -d)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
    --logfile "$REDIS_DIR/redis.log" >/dev/null
  trap stop_redis EXIT
  for _ in $(seq 1 100); do
    if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
      REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
      export REDIS_PORT REDIS_URL
      return
    fi
    sleep 0.1
  done
  echo "redis-server on port $REDIS_PORT did not start:" >&2
  cat "$REDIS_DIR/redis.log" >&2
  return 1
}

stop_redis() {
  [ -n "${REDIS_DIR:-}" ] || return 0
  [ -f "$REDIS_DIR/redis.pid" ] && kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null
  rm -rf "$REDIS_DIR"
}
