#!/usr/bin/env bash
# Runs scripts/bench/node-llama-cpp/bench.mjs, installing the pinned node-llama-cpp into the cache first
# when missing (npm; its prebuilt linux-x64 binaries, no build). Arguments are passed to bench.mjs.
#
#   node-llama-cpp.sh --model M.gguf --schema S.json --system-prompt P.txt --utterances U.json --rounds N --threads N
set -euo pipefail
HERE="$(cd "$(dirname "$0")/node-llama-cpp" && pwd)"
VERSION="3.22.1"
CACHE_ROOT="${CABIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cabin-agent}"
DEST="$CACHE_ROOT/node-llama-cpp/$VERSION"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "node-llama-cpp bench: '$tool' is required" >&2; exit 2; }
done
if [[ ! -f "$DEST/.complete" ]]; then
  echo "node-llama-cpp bench: installing node-llama-cpp@$VERSION into $DEST" >&2
  mkdir -p "$DEST"
  cp "$HERE/package.json" "$DEST/package.json"
  # --ignore-scripts: the postinstall would offer to build llama.cpp; the prebuilt binaries are what we compare.
  (cd "$DEST" && npm install --no-audit --no-fund --ignore-scripts --silent >&2)
  touch "$DEST/.complete"
fi
cp "$HERE/bench.mjs" "$DEST/bench.mjs"
exec node "$DEST/bench.mjs" "$@"
