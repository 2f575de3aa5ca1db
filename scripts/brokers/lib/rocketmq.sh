# shellcheck shell=bash
# Apache RocketMQ 5 from Maven Central: a name server, and a broker with the gRPC proxy in
# the same JVM (proxy LOCAL mode, what `mqbroker --enable-proxy` does): two JVMs, not three.

ROCKETMQ_VERSION="${ROCKETMQ_VERSION:-5.5.0}"
ROCKETMQ_NAMESRV_PORT="${ROCKETMQ_NAMESRV_PORT:-9876}"
ROCKETMQ_BROKER_PORT="${ROCKETMQ_BROKER_PORT:-10911}"
ROCKETMQ_GRPC_PORT="${ROCKETMQ_GRPC_PORT:-8081}"
ROCKETMQ_REMOTING_PORT="${ROCKETMQ_REMOTING_PORT:-18080}"
ROCKETMQ_NAMESRV_HEAP="${ROCKETMQ_NAMESRV_HEAP:-256m}"
ROCKETMQ_BROKER_HEAP="${ROCKETMQ_BROKER_HEAP:-768m}"

rocketmq_running() {
  local dir="$BROKERS_STATE/rocketmq"
  pid_alive "$dir/namesrv.pid" && pid_alive "$dir/broker.pid" && port_open "$ROCKETMQ_GRPC_PORT"
}

rocketmq_write_config() {
  local dir="$1"
  mkdir -p "$dir/home/conf" "$dir/store" "$dir/logs"
  cat >"$dir/home/conf/namesrv.conf" <<PROPS
listenPort=$ROCKETMQ_NAMESRV_PORT
bindAddress=127.0.0.1
kvConfigPath=$dir/namesrv/kvConfig.json
configStorePath=$dir/namesrv/namesrv.properties
PROPS
  cat >"$dir/home/conf/broker.conf" <<PROPS
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=127.0.0.1:$ROCKETMQ_NAMESRV_PORT
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
listenPort=$ROCKETMQ_BROKER_PORT
storePathRootDir=$dir/store
storePathCommitLog=$dir/store/commitlog
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
enablePropertyFilter=true
timerWheelEnable=true
# mqgate's topics are MIXED: keyed, delayed and transactional messages on one topic
enableMixedMessageType=true
# small files: 64 MiB commit log segments, 30k-entry consume queues, a small key index
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=600000
mappedFileSizeTimerLog=16777216
maxHashSlotNum=50000
maxIndexNum=200000
fileReservedTime=24
# accept writes until the disk is nearly full (the default stops at 75% used)
diskMaxUsedSpaceRatio=95
PROPS
  cat >"$dir/home/conf/rmq-proxy.json" <<JSON
{
  "rocketMQClusterName": "DefaultCluster",
  "namesrvAddr": "127.0.0.1:$ROCKETMQ_NAMESRV_PORT",
  "grpcServerPort": $ROCKETMQ_GRPC_PORT,
  "remotingListenPort": $ROCKETMQ_REMOTING_PORT,
  "maxDelayTimeMills": 259200000
}
JSON
}

# JVM options both processes share: rocketmq.home.dir, our logback file, JDK 17 opens
rocketmq_jvm_opts() {
  local dir="$1" name="$2"
  printf '%s\n' \
    "-Drocketmq.home.dir=$dir/home" "-Duser.home=$dir/home" \
    "-Drmq.logback.configurationFile=$BROKERS_DIR/conf/rocketmq/logback.xml" \
    "-Dmqgate.log.file=$dir/logs/$name.log" \
    -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -Djava.awt.headless=true \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
    --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED
}

rocketmq_up() {
  local dir libs java opts
  dir="$(broker_dir rocketmq)"
  if rocketmq_running; then
    log "rocketmq already running"
  else
    rocketmq_down_quiet
    local p
    for p in "$ROCKETMQ_NAMESRV_PORT" "$ROCKETMQ_BROKER_PORT" "$ROCKETMQ_GRPC_PORT"; do
      port_open "$p" && die "port $p is taken by another process (not our rocketmq)"
    done
    java="$(java_cmd)"
    libs="$(fetch_jars rocketmq "$ROCKETMQ_VERSION" "$BROKERS_DIR/maven/rocketmq.pom.xml")"
    rocketmq_write_config "$dir"
    export ROCKETMQ_HOME="$dir/home"
    log "starting rocketmq $ROCKETMQ_VERSION name server on 127.0.0.1:$ROCKETMQ_NAMESRV_PORT"
    mapfile -t opts < <(rocketmq_jvm_opts "$dir" namesrv)
    start_detached "$dir/namesrv.pid" "$dir/logs/namesrv-stdout.log" \
      "$java" "-Xms$ROCKETMQ_NAMESRV_HEAP" "-Xmx$ROCKETMQ_NAMESRV_HEAP" -XX:MaxDirectMemorySize=128m \
      "${opts[@]}" -cp "$libs/*" org.apache.rocketmq.namesrv.NamesrvStartup \
      -c "$dir/home/conf/namesrv.conf"
    wait_for 60 "rocketmq name server" rocketmq_namesrv_started "$dir" || return 1
    rocketmq_start_broker "$dir" "$java" "$libs" || return 1
  fi
  echo "ROCKETMQ_ENDPOINTS=127.0.0.1:$ROCKETMQ_GRPC_PORT" >"$dir/env"
  echo "ROCKETMQ_NAMESRV=127.0.0.1:$ROCKETMQ_NAMESRV_PORT" >>"$dir/env"
}

# rocketmq_start_broker DIR JAVA LIBS: the broker with its gRPC proxy; waits until it has
# registered with the name server (once more than the log said before) and serves gRPC
rocketmq_start_broker() {
  local dir="$1" java="$2" libs="$3" opts registered
  registered="$(rocketmq_registrations "$dir")"
  log "starting rocketmq broker + gRPC proxy on 127.0.0.1:$ROCKETMQ_GRPC_PORT"
  mapfile -t opts < <(rocketmq_jvm_opts "$dir" broker)
  # the broker refuses writes past these disk-usage ratios; 0.90/0.85 fail on busy dev disks
  start_detached "$dir/broker.pid" "$dir/logs/broker-stdout.log" \
    "$java" "-Xms$ROCKETMQ_BROKER_HEAP" "-Xmx$ROCKETMQ_BROKER_HEAP" -XX:MaxDirectMemorySize=512m \
    -Drocketmq.broker.diskSpaceWarningLevelRatio=0.98 \
    -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.97 \
    "${opts[@]}" -cp "$libs/*" org.apache.rocketmq.proxy.ProxyStartup -pm local \
    -bc "$dir/home/conf/broker.conf" -pc "$dir/home/conf/rmq-proxy.json"
  wait_for 120 "rocketmq broker + proxy" rocketmq_broker_started "$dir" "$registered"
}

# rocketmq_restart_broker: stops the broker (and its proxy) for SECONDS and starts it again on
# the same store, the name server staying up (what scripts/brokers/outage.sh does)
rocketmq_restart_broker() {
  local seconds="$1" dir="$BROKERS_STATE/rocketmq"
  stop_pid "$dir/broker.pid" "rocketmq broker + proxy"
  sleep "$seconds"
  export ROCKETMQ_HOME="$dir/home"
  rocketmq_start_broker "$dir" "$(java_cmd)" "$(fetch_jars rocketmq "$ROCKETMQ_VERSION" "$BROKERS_DIR/maven/rocketmq.pom.xml")"
}

# rocketmq_registrations DIR: how often the name server has logged a broker registering
rocketmq_registrations() {
  [[ -f "$1/logs/namesrv.log" ]] || { echo 0; return; }
  grep -cF "new broker registered" "$1/logs/namesrv.log" || true
}

rocketmq_namesrv_started() {
  pid_alive "$1/namesrv.pid" || { log "rocketmq name server exited during start-up"; return 2; }
  port_open "$ROCKETMQ_NAMESRV_PORT"
}

# rocketmq_broker_started DIR BEFORE: the broker registered with the name server (more
# registrations logged than BEFORE) and the gRPC server accepts connections
rocketmq_broker_started() {
  pid_alive "$1/broker.pid" || { log "rocketmq broker exited during start-up"; return 2; }
  (($(rocketmq_registrations "$1") > $2)) && port_open "$ROCKETMQ_GRPC_PORT"
}

rocketmq_down_quiet() {
  local dir="$BROKERS_STATE/rocketmq"
  stop_pid "$dir/broker.pid" "rocketmq broker + proxy"
  stop_pid "$dir/namesrv.pid" "rocketmq name server"
}

rocketmq_down() {
  local dir="$BROKERS_STATE/rocketmq"
  [[ -d "$dir" ]] || return 0
  rocketmq_down_quiet
  rm -f "$dir/env"
}
