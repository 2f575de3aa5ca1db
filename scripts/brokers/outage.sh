#!/usr/bin/env bash
# Takes a running broker away for a while and brings it back, as the fault and restart tests
# need: RabbitMQ stops its application (connections drop, queues go down, the node and its
# data stay) and starts it again; Kafka's process is stopped (SIGTERM: a controlled shutdown)
# and started again on the same data dir; RocketMQ's broker (with its gRPC proxy) likewise, the
# name server staying up. Returns once the broker answers again.
# Usage: scripts/brokers/outage.sh rabbitmq|kafka|rocketmq [SECONDS]   (default: 0, a restart)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$BROKERS_DIR/lib/rabbitmq.sh"
source "$BROKERS_DIR/lib/kafka.sh"
source "$BROKERS_DIR/lib/rocketmq.sh"

broker="${1:-}"
seconds="${2:-0}"
case "$broker" in
  rabbitmq)
    rabbitmq_running || die "rabbitmq is not running: start it with scripts/brokers/up.sh rabbitmq"
    log "rabbitmq: stopping the application for ${seconds}s"
    rabbitmq_ctl -q stop_app >&2
    sleep "$seconds"
    rabbitmq_ctl -q start_app >&2
    wait_for 60 "rabbitmq AMQP port" port_open "$RABBITMQ_PORT"
    log "rabbitmq: back"
    ;;
  kafka)
    kafka_running || die "kafka is not running: start it with scripts/brokers/up.sh kafka"
    log "kafka: stopping the broker for ${seconds}s"
    stop_pid "$BROKERS_STATE/kafka/kafka.pid" kafka
    sleep "$seconds"
    # kafka_up reuses the formatted data dir and waits for "Kafka Server started"
    kafka_up >/dev/null
    log "kafka: back"
    ;;
  rocketmq)
    rocketmq_running || die "rocketmq is not running: start it with scripts/brokers/up.sh rocketmq"
    log "rocketmq: stopping the broker for ${seconds}s"
    rocketmq_restart_broker "$seconds"
    log "rocketmq: back"
    ;;
  *) die "usage: scripts/brokers/outage.sh rabbitmq|kafka|rocketmq [SECONDS]" ;;
esac
