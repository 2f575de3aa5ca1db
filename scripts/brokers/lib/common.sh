# shellcheck shell=bash
# Shared helpers for scripts/brokers/*.sh (sourced, not executed).
# Layout: every broker keeps data, logs, pid and its env lines under .state/brokers/<name>/;
# downloaded jars live in a cache outside the repo so that later runs start in seconds.

BROKERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$BROKERS_DIR/../.." && pwd)"
STATE_DIR="$REPO_DIR/.state"
BROKERS_STATE="$STATE_DIR/brokers"
ENV_FILE="$STATE_DIR/brokers.env"
CACHE_DIR="${MQGATE_BROKERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mqgate-brokers}"
ALL_BROKERS=(rabbitmq kafka rocketmq)

log() { printf '[brokers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# broker_dir NAME -> .state/brokers/NAME (created)
broker_dir() { mkdir -p "$BROKERS_STATE/$1" && printf '%s' "$BROKERS_STATE/$1"; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PIDFILE: true when the file names a running process
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every second until it succeeds;
# COMMAND exiting with 2 means "will never succeed" and ends the wait at once
wait_for() {
  local timeout="$1" what="$2" waited=0 rc
  shift 2
  while true; do
    rc=0
    "$@" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 2)) && return 1
    if ((waited >= timeout)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# log_has FILE PATTERN: true when FILE exists and contains PATTERN (fixed string)
log_has() { [[ -f "$1" ]] && grep -qF -- "$2" "$1"; }

# start_detached PIDFILE LOGFILE COMMAND...: runs COMMAND in its own session, output to LOGFILE
start_detached() {
  local pidfile="$1" logfile="$2"
  shift 2
  printf '===== started %s =====\n' "$(date -u +%FT%TZ)" >>"$logfile"
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 30 s, then SIGKILL; removes PIDFILE
stop_pid() {
  local pidfile="$1" name="$2" pid i
  [[ -s "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 30s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

# apt_install PACKAGE...: Debian packages, with one `apt-get update` first; a policy-rc.d
# keeps the packages' own services (a system-wide RabbitMQ on 5672) from starting
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "$* missing and apt-get not found: install $* by hand"
  [[ $EUID -eq 0 ]] || die "$* missing: run as root, or install $* by hand"
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
  ((created)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get install $* failed"
}

# java_cmd: the JDK to run brokers with (JAVA_HOME wins; Kafka 4 and RocketMQ 5.3 run on 17)
java_cmd() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    printf '%s' "$JAVA_HOME/bin/java"
    return
  fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v java
}

# fetch_jars NAME VERSION POM: copies the runtime jars resolved by POM into the cache, once;
# VERSION is passed as the POM's NAME.version property (KAFKA_VERSION, ROCKETMQ_VERSION pick it)
fetch_jars() {
  local name="$1" version="$2" pom="$3" libs="$CACHE_DIR/$1-$2/libs"
  if [[ ! -f "$libs/.complete" ]]; then
    command -v mvn >/dev/null || apt_install maven
    log "fetching $name $version jars from Maven Central into $libs"
    rm -rf "$libs"
    mkdir -p "$CACHE_DIR"
    mvn -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -D"$name.version=$version" -DoutputDirectory="$libs" >"$CACHE_DIR/$name-$version-mvn.log" 2>&1 ||
      { tail -n 30 "$CACHE_DIR/$name-$version-mvn.log" >&2; die "mvn could not resolve $name $version"; }
    touch "$libs/.complete"
  fi
  printf '%s' "$libs"
}

# write_env_file: .state/brokers.env = env lines of every broker that is running now
write_env_file() {
  local b tmp="$ENV_FILE.tmp"
  mkdir -p "$STATE_DIR"
  : >"$tmp"
  for b in "${ALL_BROKERS[@]}"; do
    if [[ -f "$BROKERS_STATE/$b/env" ]] && "${b}_running"; then
      cat "$BROKERS_STATE/$b/env" >>"$tmp"
    fi
  done
  mv "$tmp" "$ENV_FILE"
}

# tail_logs NAME...: last lines of each broker log, for failure reports
tail_logs() {
  local b f
  for b in "$@"; do
    for f in "$BROKERS_STATE/$b"/logs/*.log; do
      [[ -f "$f" ]] || continue
      printf '\n===== %s (last 40 lines) =====\n' "${f#"$REPO_DIR"/}" >&2
      tail -n 40 "$f" >&2
    done
  done
}

# parse_targets ARG...: sets TARGETS to the brokers named (rabbitmq, kafka, rocketmq, all)
parse_targets() {
  TARGETS=()
  local arg
  for arg in "${@:-all}"; do
    case "$arg" in
      all) TARGETS+=("${ALL_BROKERS[@]}") ;;
      rabbitmq | kafka | rocketmq) TARGETS+=("$arg") ;;
      *) die "unknown broker '$arg' (use rabbitmq, kafka, rocketmq or all)" ;;
    esac
  done
}
