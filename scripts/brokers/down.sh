#!/usr/bin/env bash
# Stops brokers started by up.sh and removes their lines from .state/brokers.env.
# Data and logs stay under .state/brokers/ (remove that folder for a clean slate).
# Usage: scripts/brokers/down.sh [rabbitmq|kafka|rocketmq|all]...   (default: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for b in "${ALL_BROKERS[@]}"; do source "$BROKERS_DIR/lib/$b.sh"; done

parse_targets "$@"

for b in "${TARGETS[@]}"; do "${b}_down"; done
write_env_file
log "stopped: ${TARGETS[*]}"
