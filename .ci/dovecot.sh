# shellcheck shell=bash
# Sourced by .ci/test and scripts/bench-email, after .ci/redis.sh (it uses
# free_port and on_exit from there): installs Dovecot's IMAP server when
# missing and starts a throwaway one on a free loopback port, with plain-text
# logins, maildirs under a temporary folder, and the users
# helpdesk@example.test and ana@example.test (password "secret"), stopped
# when the calling script exits. Sets DOVECOT_PORT, DOVECOT_MAIL (the maildir
# root; one folder per user) and DOVECOT_UID (the owner mail files must
# have). Needs root.

ensure_dovecot() {
  if [ -x /usr/sbin/dovecot ]; then
    return
  fi
  echo "dovecot is missing; installing dovecot-imapd with apt-get" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >&2
}

start_dovecot() {
  ensure_dovecot
  DOVECOT_DIR=$(mktemp -d)
  DOVECOT_PORT=$(free_port)
  DOVECOT_MAIL="$DOVECOT_DIR/mail"
  DOVECOT_UID=$(id -u nobody)
  local gid
  gid=$(id -g nobody)
  mkdir -p "$DOVECOT_MAIL" "$DOVECOT_DIR/run" "$DOVECOT_DIR/state"
  chown "$DOVECOT_UID:$gid" "$DOVECOT_MAIL"
  chmod 755 "$DOVECOT_DIR"
  printf 'helpdesk@example.test:{PLAIN}secret\nana@example.test:{PLAIN}secret\n' >"$DOVECOT_DIR/users"
  cat >"$DOVECOT_DIR/dovecot.conf" <<CONF
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
log_path = $DOVECOT_DIR/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$DOVECOT_MAIL/%u
first_valid_uid = $DOVECOT_UID
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT_DIR/users
}
userdb {
  driver = static
  args = uid=$DOVECOT_UID gid=$gid home=$DOVECOT_MAIL/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
CONF
  on_exit stop_dovecot
  /usr/sbin/dovecot -c "$DOVECOT_DIR/dovecot.conf"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$DOVECOT_PORT") 2>/dev/null; then
      export DOVECOT_PORT DOVECOT_MAIL DOVECOT_UID
      return
    fi
    sleep 0.1
  done
  echo "dovecot did not start:" >&2
  cat "$DOVECOT_DIR/dovecot.log" >&2
  return 1
}

stop_dovecot() {
  [ -n "${DOVECOT_DIR:-}" ] || return 0
  /usr/sbin/dovecot -c "$DOVECOT_DIR/dovecot.conf" stop 2>/dev/null
  rm -rf "$DOVECOT_DIR"
}
