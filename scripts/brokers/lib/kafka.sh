# shellcheck shell=bash
# Apache Kafka in KRaft mode (one process: broker + controller), jars from Maven Central.
# 3.9.x: the newest line that still speaks the older protocol versions kafkajs 2.2.4 uses
# (Kafka 4.0 removed them, KIP-896).

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
# any 22-character base64url string (16 bytes) is a valid KRaft cluster id
KAFKA_CLUSTER_ID=mqgate-test-cluster-01

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
      "$java" -Xmx256m -cp "$cp" -Dlog4j.configuration="file:$BROKERS_DIR/conf/kafka-log4j.properties" \
        -Dkafka.logs.dir="$dir/logs" kafka.tools.StorageTool format \
        -t "$KAFKA_CLUSTER_ID" \
        -c "$dir/server.properties" --ignore-formatted >&2 || return 1
    fi
    log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (heap $KAFKA_HEAP)"
    start_detached "$dir/kafka.pid" "$dir/logs/stdout.log" \
      "$java" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:MaxDirectMemorySize=256m -XX:+UseG1GC \
      -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$BROKERS_DIR/conf/kafka-log4j.properties" \
      -Dkafka.logs.dir="$dir/logs" -cp "$cp" kafka.Kafka "$dir/server.properties"
    # "started" is logged once the socket server accepts and the metadata log is ready
    wait_for 120 "kafka to start" kafka_started "$dir" || return 1
  fi
  echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT" >"$dir/env"
}

kafka_started() {
  pid_alive "$1/kafka.pid" || { log "kafka exited during start-up"; return 2; }
  log_has "$1/logs/server.log" "Kafka Server started" && port_open "$KAFKA_PORT"
}

kafka_down() {
  local dir="$BROKERS_STATE/kafka"
  [[ -d "$dir" ]] || return 0
  stop_pid "$dir/kafka.pid" kafka
  rm -f "$dir/env"
}
