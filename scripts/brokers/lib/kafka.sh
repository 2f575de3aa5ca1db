# shellcheck shell=bash
# Apache Kafka 4 in KRaft mode (one process: broker + controller), jars from Maven Central.
# Kafka 4.0 removed the oldest protocol versions (KIP-896); kafkajs 2.2.4 negotiates newer
# ones for everything mqgate uses (test/integration/kafka-smoke.test.ts checks each).

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
# any 22-character base64url string (16 bytes) is a valid KRaft cluster id
KAFKA_CLUSTER_ID=mqgate-test-cluster-01
KAFKA_LOG_CONFIG="$BROKERS_DIR/conf/kafka-log4j2.properties"

kafka_running() {
  pid_alive "$BROKERS_STATE/kafka/kafka.pid" && port_open "$KAFKA_PORT"
}

kafka_write_config() {
  local dir="$1"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
min.insync.replicas=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
log.retention.hours=24
num.network.threads=2
num.io.threads=4
PROPS
}

kafka_up() {
  local dir libs java cp
  dir="$(broker_dir kafka)"
  if kafka_running; then
    log "kafka already running"
  else
    port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process (not our broker)"
    java="$(java_cmd)"
    libs="$(fetch_jars kafka "$KAFKA_VERSION" "$BROKERS_DIR/maven/kafka.pom.xml")"
    cp="$libs/*"
    mkdir -p "$dir/data" "$dir/logs"
    kafka_write_config "$dir"
    if [[ ! -f "$dir/data/meta.properties" ]]; then
      log "formatting kafka storage"
      # 4.x: with a static controller.quorum.voters list, format takes the cluster id and
      # the config only (--standalone / --initial-controllers are for dynamic quorums)
      "$java" -Xmx256m -cp "$cp" -Dlog4j2.configurationFile="$KAFKA_LOG_CONFIG" \
        -Dkafka.logs.dir="$dir/logs" kafka.tools.StorageTool format \
        --cluster-id "$KAFKA_CLUSTER_ID" \
        --config "$dir/server.properties" --ignore-formatted >&2 || return 1
    fi
    # a restart on the same data appends to lifecycle.log: only lines after this mark count
    KAFKA_LOG_MARK="$(stat -c %s "$dir/logs/lifecycle.log" 2>/dev/null || echo 0)"
    log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (heap $KAFKA_HEAP)"
    start_detached "$dir/kafka.pid" "$dir/logs/stdout.log" \
      "$java" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:MaxDirectMemorySize=256m -XX:+UseG1GC \
      -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_LOG_CONFIG" \
      -Dkafka.logs.dir="$dir/logs" -cp "$cp" kafka.Kafka "$dir/server.properties"
    # "started" is logged once the socket server accepts and the metadata log is ready
    wait_for 120 "kafka to start" kafka_started "$dir" || return 1
  fi
  echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT" >"$dir/env"
}

kafka_started() {
  local log="$1/logs/lifecycle.log" mark="${KAFKA_LOG_MARK:-0}"
  pid_alive "$1/kafka.pid" || { log "kafka exited during start-up"; return 2; }
  [[ -f "$log" ]] || return 1
  tail -c "+$((mark + 1))" "$log" | grep -qF "Kafka Server started" && port_open "$KAFKA_PORT"
}

kafka_down() {
  local dir="$BROKERS_STATE/kafka"
  [[ -d "$dir" ]] || return 0
  stop_pid "$dir/kafka.pid" kafka
  rm -f "$dir/env"
}
