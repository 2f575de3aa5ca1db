#!/usr/bin/env bash
# Runs the unit and API test projects under the other Node lines users run (default: 22 and
# 24; MQGATE_NODE_LINES="22 24"), each in a fresh copy of the checkout: `npm ci` must print
# no EBADENGINE warning, then build and test. Node builds come from the npm registry
# (node-linux-<arch>@<line>, the newest of the line) and are cached in
# ~/.cache/mqgate-tools/node-<version>. The host's npm runs under each node.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '[node-lines %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cache="${MQGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mqgate-tools}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) say "no Node build on the npm registry for $(uname -m)"; exit 1 ;;
esac

for line in ${MQGATE_NODE_LINES:-22 24}; do
  version=$(npm view "node-linux-$arch@$line" version --json | node -e '
    const v = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log([].concat(v).at(-1));')
  node_dir="$cache/node-$version"
  if [[ ! -x "$node_dir/bin/node" ]]; then
    say "fetching node $version (node-linux-$arch) from the npm registry"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
    mkdir -p "$node_dir"
    tar xzf "$tmp"/*.tgz --strip-components=1 -C "$node_dir"
    rm -rf "$tmp"
  fi
  work=$(mktemp -d)
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work"
  say "node $("$node_dir/bin/node" --version): npm ci, build, unit and api tests in $work"
  (
    cd "$work"
    export PATH="$node_dir/bin:$PATH"
    npm ci --no-audit --no-fund 2>&1 | tee .npm-ci.log
    if grep -q EBADENGINE .npm-ci.log; then
      say "npm ci under node $version printed engine warnings (above)"
      exit 1
    fi
    npm run build
    npx vitest run --project unit --project api
  )
  rm -rf "$work"
done
