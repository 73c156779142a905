#!/usr/bin/env bash
# Fetches the pinned prebuilt llama.cpp (as packaged by node-llama-cpp) into the cache.
#
#   fetch-llama.sh [CACHE_ROOT]     (default: $CABIN_CACHE_DIR or ~/.cache/cabin-agent)
#
# Result: $CACHE_ROOT/llama/$VERSION/
#   lib/          libllama.v0.5.0.so, libggml*.so (CPU backends are loaded at run time from here)
#   include/      llama.h, ggml*.h, gguf.h of the same release (the P/Invoke layer mirrors these)
#   vocab/        ggml-vocab-qwen2.gguf (the real Qwen2 tokenizer, used to build the test model)
#   src.bundle    the llama.cpp source at that release (for CUDA / arm64 builds, see docs/llm.md)
#   .complete     marker written last: its presence means everything above is there
#
# Idempotent and safe to run concurrently (works in a temp dir, then renames into place).
set -euo pipefail

VERSION="3.22.1"            # node-llama-cpp version; ships llama.cpp release "v0.5.0" (its naming)
ARCH="${CABIN_LLAMA_ARCH:-linux-x64}"   # linux-arm64 / linux-x64-cuda exist for the cockpit boxes

CACHE_ROOT="${1:-${CABIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cabin-agent}}"
DEST="$CACHE_ROOT/llama/$VERSION"
MARKER="$DEST/.complete"

if [[ -f "$MARKER" ]]; then
  exit 0
fi

for tool in npm tar git; do
  command -v "$tool" >/dev/null || { echo "fetch-llama: '$tool' is required (Debian: npm, tar, git)" >&2; exit 2; }
done

mkdir -p "$CACHE_ROOT/llama"
WORK="$(mktemp -d "$CACHE_ROOT/llama/.fetch.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "fetch-llama: downloading @node-llama-cpp/$ARCH@$VERSION and node-llama-cpp@$VERSION" >&2
(cd "$WORK" && npm pack --silent "@node-llama-cpp/$ARCH@$VERSION" "node-llama-cpp@$VERSION" >/dev/null)

mkdir -p "$WORK/bin" "$WORK/pkg" "$WORK/out/lib" "$WORK/out/include" "$WORK/out/vocab"
tar xzf "$WORK"/node-llama-cpp-"$ARCH"-"$VERSION".tgz -C "$WORK/bin"
tar xzf "$WORK"/node-llama-cpp-"$VERSION".tgz -C "$WORK/pkg"

BIN_DIR="$WORK/bin/package/bins/$ARCH"
[[ -f "$BIN_DIR/libllama.v0.5.0.so" ]] || { echo "fetch-llama: libllama not found in $BIN_DIR" >&2; exit 3; }
# Only the engine: the node addon and llama-common are not used by us.
cp "$BIN_DIR"/libllama.*.so "$BIN_DIR"/libggml*.so "$WORK/out/lib/"
cp "$BIN_DIR/_nlcBuildMetadata.json" "$WORK/out/lib/"

BUNDLE="$WORK/pkg/package/llama/gitRelease.bundle"
cp "$BUNDLE" "$WORK/out/src.bundle"
git clone --quiet "$BUNDLE" "$WORK/src" 2>/dev/null
cp "$WORK/src/include/llama.h" "$WORK/out/include/"
cp "$WORK"/src/ggml/include/*.h "$WORK/out/include/"
cp "$WORK/src/models/ggml-vocab-qwen2.gguf" "$WORK/out/vocab/"
cp "$WORK/pkg/package/llama/llama.cpp.info.json" "$WORK/out/"

# Publish atomically: another build may have finished first, which is fine.
rm -rf "$DEST.tmp.$$"
mv "$WORK/out" "$DEST.tmp.$$"
if [[ ! -f "$MARKER" ]]; then
  rm -rf "$DEST"
  mv "$DEST.tmp.$$" "$DEST"
  date -u +%FT%TZ > "$MARKER"
else
  rm -rf "$DEST.tmp.$$"
fi
echo "fetch-llama: ready in $DEST" >&2
