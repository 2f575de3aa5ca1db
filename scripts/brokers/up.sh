#!/usr/bin/env bash
# Starts real brokers on 127.0.0.1 for mqgate's integration tests, waits until each answers,
# prints their connection settings and writes them to .state/brokers.env.
# Usage: scripts/brokers/up.sh [rabbitmq|kafka|rocketmq|all]...   (default: all)
# Idempotent: a broker that is already running is left as it is.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$BROKERS_DIR/lib/rabbitmq.sh"
source "$BROKERS_DIR/lib/kafka.sh"
source "$BROKERS_DIR/lib/rocketmq.sh"

parse_targets "$@"

failed=()
for b in "${TARGETS[@]}"; do
  start=$SECONDS
  if "${b}_up"; then
    log "$b ready in $((SECONDS - start))s"
  else
    log "$b failed to start; its logs are in .state/brokers/$b/logs"
    tail_logs "$b"
    failed+=("$b")
  fi
done
write_env_file
cat "$ENV_FILE"
((${#failed[@]} == 0)) || die "not started: ${failed[*]}"
