# shellcheck shell=bash
# RabbitMQ from Debian's rabbitmq-server package, run as a detached node of our own
# (own node name, data, logs, config and Erlang cookie), never through systemd.

RABBITMQ_PORT="${RABBITMQ_PORT:-5672}"
RABBITMQ_DIST_PORT="${RABBITMQ_DIST_PORT:-25672}"
RABBITMQ_NODE="${RABBITMQ_NODENAME:-mqgate@localhost}"
RABBITMQ_SBIN=/usr/lib/rabbitmq/bin

rabbitmq_env() {
  local dir
  dir="$(broker_dir rabbitmq)"
  mkdir -p "$dir/home" "$dir/data" "$dir/logs"
  # HOME holds the Erlang cookie shared by the node and rabbitmqctl
  export HOME="$dir/home"
  export RABBITMQ_NODENAME="$RABBITMQ_NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
  export RABBITMQ_DIST_PORT
  export RABBITMQ_MNESIA_BASE="$dir/data"
  export RABBITMQ_LOG_BASE="$dir/logs"
  export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$BROKERS_DIR/conf/rabbitmq.conf"
  export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export ERL_EPMD_ADDRESS=127.0.0.1
  touch "$RABBITMQ_CONF_ENV_FILE"
  # no plugins: quorum queues and streams (x-queue-type=stream over AMQP 0-9-1) are core
  # features in 3.10; the rabbitmq_stream plugin only adds the binary stream protocol (5552)
  [[ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ]] || echo '[].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
}

rabbitmq_install() {
  [[ -x "$RABBITMQ_SBIN/rabbitmq-server" ]] || apt_install rabbitmq-server
}

rabbitmq_ctl() { (rabbitmq_env && "$RABBITMQ_SBIN/rabbitmqctl" "$@"); }

rabbitmq_running() {
  [[ -x "$RABBITMQ_SBIN/rabbitmqctl" ]] || return 1
  pid_alive "$BROKERS_STATE/rabbitmq/rabbitmq.pid" && port_open "$RABBITMQ_PORT"
}

rabbitmq_up() {
  local dir
  dir="$(broker_dir rabbitmq)"
  if rabbitmq_running; then
    log "rabbitmq already running"
  else
    rabbitmq_install
    port_open "$RABBITMQ_PORT" && die "port $RABBITMQ_PORT is taken by another process (not our node)"
    log "starting rabbitmq node $RABBITMQ_NODE on 127.0.0.1:$RABBITMQ_PORT"
    (rabbitmq_env && start_detached "$dir/launcher.pid" "$dir/logs/startup.log" \
      "$RABBITMQ_SBIN/rabbitmq-server")
    # await_startup returns once the node booted (or fails fast if it died)
    wait_for 60 "rabbitmq pid file" test -s "$dir/rabbitmq.pid" || return 1
    rabbitmq_ctl -q await_startup --timeout 120 >&2 || return 1
    wait_for 30 "rabbitmq AMQP port" port_open "$RABBITMQ_PORT" || return 1
  fi
  echo "RABBITMQ_URL=amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT" >"$dir/env"
}

rabbitmq_down() {
  local dir="$BROKERS_STATE/rabbitmq"
  [[ -d "$dir" ]] || return 0
  if pid_alive "$dir/rabbitmq.pid"; then
    log "stopping rabbitmq"
    rabbitmq_ctl -q stop "$dir/rabbitmq.pid" >&2 || stop_pid "$dir/rabbitmq.pid" rabbitmq
  fi
  stop_pid "$dir/launcher.pid" "rabbitmq launcher"
  rm -f "$dir/rabbitmq.pid" "$dir/env"
  # the node started epmd (loopback only); end it when no other Erlang node uses it
  if command -v epmd >/dev/null && ! epmd -names 2>/dev/null | grep -q '^name '; then
    epmd -kill >/dev/null 2>&1 || true
  fi
}
