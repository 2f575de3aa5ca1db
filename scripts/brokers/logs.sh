#!/usr/bin/env bash
# Prints the last lines of each broker's logs (for failure reports).
# Usage: scripts/brokers/logs.sh [rabbitmq|kafka|rocketmq|all]...   (default: all)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
parse_targets "$@"
tail_logs "${TARGETS[@]}"
