# shellcheck shell=bash
# Sourced by .ci/test and scripts/bench-core: makes sure redis-server and
# redis-cli are installed and starts throwaway Redis servers on free
# loopback ports, stopped when the calling script exits:
#   start_redis          one redis-server; sets REDIS_PORT and REDIS_URL
#   start_redis_cluster  a 3-master Redis Cluster; sets REDIS_CLUSTER_PORTS
#                        and REDIS_CLUSTER_URL (redis+cluster://h:p,h:p,h:p)

# on_exit registers a command to run when the script exits, also when it is
# interrupted or terminated (the servers daemonize, so they would outlive
# it); the commands run last registered first, each even if an earlier one
# failed, and the script's exit status is kept. (One EXIT trap for all of
# them: a second `trap ... EXIT` would replace the first.)
CI_ON_EXIT=()
on_exit() {
  CI_ON_EXIT+=("$1")
  trap ci_run_on_exit EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

ci_run_on_exit() {
  local rc=$? i
  set +e
  for (( i = ${#CI_ON_EXIT[@]} - 1; i >= 0; i-- )); do
    eval "${CI_ON_EXIT[$i]}"
  done
  exit "$rc"
}

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  echo "redis-server or redis-cli is missing; installing redis-server and redis-tools with apt-get" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >&2
}

# port_free tells whether nothing listens on a loopback TCP port.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints a loopback TCP port nothing listens on. With "cluster" it
# also checks the port + 10000 a cluster node uses for its bus. The ports
# are below the kernel's ephemeral range when it leaves room: a port there
# may be the local end of a client connection (or its TIME_WAIT) that no
# probe sees, and then the server cannot bind it.
free_port() {
  local p lo=32768 span bus=0
  [ "${1:-}" != cluster ] || bus=10000
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  fi
  span=$((lo - bus - 10000))
  for _ in $(seq 1 200); do
    if [ "$span" -ge 1000 ]; then
      p=$(( (RANDOM * 32768 + RANDOM) % span + 10000 ))
    else
      p=$(( (RANDOM % 20000) + 30000 ))
    fi
    if port_free "$p" && { [ "$bus" = 0 ] || port_free $((p + bus)); }; then
      echo "$p"
      return
    fi
  done
  echo "no free port found" >&2
  return 1
}

# launch_redis DIR [cluster] [ARGS...]: starts a redis-server in the
# background with its files in DIR (redis.pid, redis.log) on a free loopback
# port, and waits until it answers (it, by its process id); tries another
# port when the one picked turns out taken. Sets LAUNCHED_PORT.
launch_redis() {
  local dir=$1 kind="" port
  shift
  if [ "${1:-}" = cluster ]; then
    kind=cluster
    shift
  fi
  local attempt info
  for attempt in 1 2 3 4 5; do
    port=$(free_port $kind)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" >/dev/null
    for _ in $(seq 1 100); do
      # The server answering must be this one, not one that took the port.
      info=$(redis-cli -p "$port" info server 2>/dev/null | tr -d '\r' || true)
      if [ -s "$dir/redis.pid" ] && grep -qx "process_id:$(cat "$dir/redis.pid")" <<<"$info"; then
        LAUNCHED_PORT=$port
        return
      fi
      if grep -qE 'Address already in use|Failed listening' "$dir/redis.log" 2>/dev/null; then
        break
      fi
      sleep 0.1
    done
    if [ "$attempt" = 5 ] || ! grep -qE 'Address already in use|Failed listening' "$dir/redis.log" 2>/dev/null; then
      break
    fi
    echo "redis-server could not listen on port $port; trying another" >&2
    stop_pidfile "$dir/redis.pid"
    find "$dir" -mindepth 1 -delete
  done
  echo "redis-server on port $port did not start:" >&2
  cat "$dir/redis.log" >&2
  return 1
}

start_redis() {
  ensure_redis
  REDIS_DIR=$(mktemp -d)
  on_exit stop_redis
  launch_redis "$REDIS_DIR"
  REDIS_PORT=$LAUNCHED_PORT
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  export REDIS_PORT REDIS_URL
}

stop_redis() {
  [ -n "${REDIS_DIR:-}" ] || return 0
  stop_pidfile "$REDIS_DIR/redis.pid"
  rm -rf "$REDIS_DIR"
}

# stop_pidfile FILE: stops the server whose pid FILE holds and waits (up to
# 5 s) until it has exited.
stop_pidfile() {
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# start_redis_cluster starts three cluster-enabled redis-servers, joins them
# into a cluster of three masters without replicas (redis-cli --cluster
# create) and waits until every node reports cluster_state:ok with all
# 16384 slots served and all three nodes known.
start_redis_cluster() {
  ensure_redis
  REDIS_CLUSTER_DIR=$(mktemp -d)
  REDIS_CLUSTER_PORTS=()
  on_exit stop_redis_cluster
  local i port dir addrs=()
  for i in 1 2 3; do
    # Each node is up before the next port is picked, so none is picked twice.
    dir="$REDIS_CLUSTER_DIR/node$i"
    mkdir "$dir"
    launch_redis "$dir" cluster --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
      --cluster-node-timeout 5000
    REDIS_CLUSTER_PORTS+=("$LAUNCHED_PORT")
    addrs+=("127.0.0.1:$LAUNCHED_PORT")
  done
  if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes \
    >"$REDIS_CLUSTER_DIR/create.log" 2>&1; then
    echo "redis-cli --cluster create ${addrs[*]} failed:" >&2
    cat "$REDIS_CLUSTER_DIR/create.log" >&2
    return 1
  fi
  local info ready
  for _ in $(seq 1 300); do
    ready=1
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
      info=$(redis-cli -p "$port" cluster info 2>/dev/null | tr -d '\r' || true)
      if ! grep -qx 'cluster_state:ok' <<<"$info" || ! grep -qx 'cluster_slots_ok:16384' <<<"$info" ||
        ! grep -qx 'cluster_known_nodes:3' <<<"$info"; then
        ready=0
        break
      fi
    done
    if [ "$ready" = 1 ]; then
      REDIS_CLUSTER_URL="redis+cluster://$(IFS=,; echo "${addrs[*]}")"
      export REDIS_CLUSTER_URL
      return
    fi
    sleep 0.1
  done
  echo "the Redis Cluster on ports ${REDIS_CLUSTER_PORTS[*]} did not reach cluster_state:ok in 30 s:" >&2
  for i in "${!REDIS_CLUSTER_PORTS[@]}"; do
    port=${REDIS_CLUSTER_PORTS[$i]}
    echo "== node $port: cluster info, cluster nodes, log" >&2
    redis-cli -p "$port" cluster info >&2 || true
    redis-cli -p "$port" cluster nodes >&2 || true
    tail -20 "$REDIS_CLUSTER_DIR/node$((i + 1))/redis.log" >&2
  done
  return 1
}

# check_redis_cluster, after tests ran on the cluster, fails unless every
# master ran scripts (the data really spread over the cluster), none refused
# a command with CROSSSLOT (a multi-key command across slots, even one
# whose error a test ignored), and no key is left (every test removed its
# prefix's keys from every master).
check_redis_cluster() {
  local port stats keys ok=0
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    stats=$(redis-cli -p "$port" info commandstats | tr -d '\r' || true)
    if ! grep -qE '^cmdstat_eval(sha)?:calls=[1-9]' <<<"$stats"; then
      echo "Redis Cluster node $port ran no script: the tests did not use the whole cluster" >&2
      ok=1
    fi
    stats=$(redis-cli -p "$port" info errorstats | tr -d '\r' || true)
    if grep -q '^errorstat_CROSSSLOT' <<<"$stats"; then
      echo "Redis Cluster node $port refused commands with CROSSSLOT ($(grep '^errorstat_CROSSSLOT' <<<"$stats"))" >&2
      ok=1
    fi
    keys=$(redis-cli -p "$port" dbsize | tr -d '\r' || true)
    if [ "$keys" != 0 ]; then
      echo "Redis Cluster node $port still has $keys keys after the tests (not removed by redistest), such as:" >&2
      redis-cli -p "$port" --scan 2>&1 | head -20 >&2 || true
      ok=1
    fi
  done
  return "$ok"
}

stop_redis_cluster() {
  [ -n "${REDIS_CLUSTER_DIR:-}" ] || return 0
  local dir
  for dir in "$REDIS_CLUSTER_DIR"/node*; do
    stop_pidfile "$dir/redis.pid"
  done
  rm -rf "$REDIS_CLUSTER_DIR"
}
