#!/usr/bin/env bash
# Stops brokers started by up.sh and removes their lines from .state/brokers.env.
# Data and logs stay under .state/brokers/ (remove that folder for a clean slate).
# Usage: scripts/brokers/down.sh [rabbitmq|kafka|rocketmq|all]...   (default: all)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$BROKERS_DIR/lib/rabbitmq.sh"
source "$BROKERS_DIR/lib/kafka.sh"
source "$BROKERS_DIR/lib/rocketmq.sh"

parse_targets "$@"

for b in "${TARGETS[@]}"; do "${b}_down"; done
write_env_file
log "stopped: ${TARGETS[*]}"
