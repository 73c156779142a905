#!/usr/bin/env bash
# Builds whisper.cpp as ONE shared library, libwhisper.so, into the native cache:
#   $CABIN_CACHE_DIR/whisper/<version>-<short hash of the build flags>/
# ggml is linked statically and every symbol except whisper_* is hidden, because the LLM tier
# loads llama.cpp's own (different) ggml into the same process; two ggml copies with exported
# symbols would bind to each other's functions.
#
# Usage:
#   build-whisper.sh             build if the marker file is missing, print the library path
#   build-whisper.sh --print-dir print the cache directory (no build)
#   build-whisper.sh --force     rebuild even if the marker exists
#
# Environment:
#   CABIN_CACHE_DIR           cache root (default: $XDG_CACHE_HOME/cabin-agent or ~/.cache/cabin-agent)
#   CABIN_WHISPER_CMAKE_FLAGS extra cmake flags (e.g. CUDA, see docs/speech.md); part of the hash
#   CABIN_WHISPER_LINK_LIBS   extra libraries for the final link (CUDA: -lcudart -lcublas ...); part of the hash
#   CABIN_BUILD_JOBS          parallel compile jobs (default: nproc)
set -euo pipefail

WHISPER_VERSION=1.9.1
# whisper.cpp source comes pinned from the npm package that ships it.
NPM_PACKAGE=nodejs-whisper@0.3.1
NPM_TARBALL_SHA256=92041caf2b26c74b7f489fedf37bd093f216eebd61df512045ec2d19d0531d37
SRC_SUBDIR=package/cpp/whisper.cpp

# CPU only, independent of the build machine: an AVX2/FMA/F16C baseline (any x86-64 from ~2015),
# no -march=native. OpenMP for the worker threads: ggml's own pool spins at every barrier without
# ever yielding, which on a busy CPU (parallel builds, or the LLM decoding at the same time) made
# 2-thread runs 20-100x slower than 1 thread; libgomp spins briefly, then sleeps.
BASE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DGGML_NATIVE=OFF
  -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
  -DGGML_AVX512=OFF
  -DGGML_OPENMP=ON
  -DGGML_CCACHE=OFF
  -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=OFF -DWHISPER_BUILD_SERVER=OFF
  -DWHISPER_SDL2=OFF -DWHISPER_CURL=OFF
)
# shellcheck disable=SC2206
EXTRA_FLAGS=(${CABIN_WHISPER_CMAKE_FLAGS:-})
# shellcheck disable=SC2206
LINK_LIBS=(${CABIN_WHISPER_LINK_LIBS:-})
ALL_FLAGS="${BASE_FLAGS[*]} ${EXTRA_FLAGS[*]:-} link=static-ggml,version-script-whisper_*"
[[ ${#LINK_LIBS[@]} -gt 0 ]] && ALL_FLAGS+=" ${LINK_LIBS[*]}"
FLAGS_HASH=$(printf '%s' "$ALL_FLAGS" | sha256sum | cut -c1-10)

if [[ -n "${CABIN_CACHE_DIR:-}" ]]; then CACHE_ROOT="$CABIN_CACHE_DIR"
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then CACHE_ROOT="$XDG_CACHE_HOME/cabin-agent"
else CACHE_ROOT="$HOME/.cache/cabin-agent"; fi
OUT_DIR="$CACHE_ROOT/whisper/$WHISPER_VERSION-$FLAGS_HASH"
MARKER="$OUT_DIR/.built"
LIB="$OUT_DIR/libwhisper.so"

case "${1:-}" in
  --print-dir) echo "$OUT_DIR"; exit 0 ;;
  --force) rm -f "$MARKER" ;;
  "") ;;
  *) echo "build-whisper.sh: unknown argument '$1'" >&2; exit 2 ;;
esac

if [[ -f "$MARKER" && -f "$LIB" ]]; then echo "$LIB"; exit 0; fi

for tool in npm cmake cc c++ nm sha256sum tar; do
  command -v "$tool" >/dev/null || { echo "build-whisper.sh: '$tool' is required" >&2; exit 1; }
done

mkdir -p "$CACHE_ROOT/whisper"
# One builder at a time: parallel dotnet builds (tests + host) may both ask for the library.
exec 9>"$CACHE_ROOT/whisper/.lock"
flock 9
if [[ -f "$MARKER" && -f "$LIB" ]]; then echo "$LIB"; exit 0; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cabin-whisper-build.XXXXXX")
# CABIN_KEEP_BUILD=1 keeps the build tree for debugging.
[[ "${CABIN_KEEP_BUILD:-}" == 1 ]] || trap 'rm -rf "$WORK"' EXIT
echo "build-whisper.sh: building whisper.cpp $WHISPER_VERSION into $OUT_DIR (flags $FLAGS_HASH)" >&2

( cd "$WORK" && npm pack --silent "$NPM_PACKAGE" >/dev/null )
TARBALL=$(ls "$WORK"/*.tgz)
echo "$NPM_TARBALL_SHA256  $TARBALL" | sha256sum -c --quiet - \
  || { echo "build-whisper.sh: $NPM_PACKAGE tarball checksum mismatch" >&2; exit 1; }
tar -xzf "$TARBALL" -C "$WORK" "$SRC_SUBDIR"
SRC="$WORK/$SRC_SUBDIR"
grep -q "VERSION $WHISPER_VERSION" "$SRC/CMakeLists.txt" \
  || { echo "build-whisper.sh: $NPM_PACKAGE does not ship whisper.cpp $WHISPER_VERSION" >&2; exit 1; }

JOBS=${CABIN_BUILD_JOBS:-$(nproc)}
cmake -S "$SRC" -B "$WORK/build" "${BASE_FLAGS[@]}" "${EXTRA_FLAGS[@]}" >"$WORK/cmake.log" 2>&1 \
  || { cat "$WORK/cmake.log" >&2; exit 1; }
cmake --build "$WORK/build" --target whisper -j "$JOBS" >"$WORK/build.log" 2>&1 \
  || { tail -50 "$WORK/build.log" >&2; exit 1; }

mapfile -t ARCHIVES < <(find "$WORK/build" -name 'libggml*.a')
WHISPER_A=$(find "$WORK/build" -name 'libwhisper.a' | head -1)
[[ -n "$WHISPER_A" && ${#ARCHIVES[@]} -gt 0 ]] || { echo "build-whisper.sh: static archives not found" >&2; exit 1; }

cat >"$WORK/exports.map" <<'MAP'
{
  global: whisper_*;
  local: *;
};
MAP

STAGE="$WORK/stage"
mkdir -p "$STAGE"
# --whole-archive for whisper so every whisper_* API is kept; ggml archives are pulled in as
# needed (listed twice: ggml, ggml-base and ggml-cpu reference each other). -Bsymbolic binds
# the library's internal calls to its own copies even if another ggml is loaded first.
c++ -shared -o "$STAGE/libwhisper.so" -Wl,-soname,libwhisper.so \
  -Wl,--whole-archive "$WHISPER_A" -Wl,--no-whole-archive \
  -Wl,--start-group "${ARCHIVES[@]}" -Wl,--end-group \
  -Wl,--version-script="$WORK/exports.map" -Wl,-Bsymbolic -Wl,--no-undefined \
  "${LINK_LIBS[@]}" -fopenmp -lpthread -lm -ldl

LEAKED=$(nm -D --defined-only "$STAGE/libwhisper.so" | awk '{print $3}' | grep -v '^whisper_' | grep -v '^$' || true)
if [[ -n "$LEAKED" ]]; then
  echo "build-whisper.sh: symbols other than whisper_* are exported:" >&2
  echo "$LEAKED" | head -20 >&2
  exit 1
fi
nm -D --defined-only "$STAGE/libwhisper.so" | grep ' whisper_full$' >/dev/null \
  || { echo "build-whisper.sh: whisper_full is not exported" >&2; exit 1; }

mkdir -p "$OUT_DIR"
cp "$STAGE/libwhisper.so" "$LIB.tmp" && mv "$LIB.tmp" "$LIB"
cp "$SRC/include/whisper.h" "$OUT_DIR/whisper.h"
printf 'whisper.cpp %s\nsource %s sha256 %s\nflags %s\n' \
  "$WHISPER_VERSION" "$NPM_PACKAGE" "$NPM_TARBALL_SHA256" "$ALL_FLAGS" >"$OUT_DIR/BUILD-INFO"
touch "$MARKER"
echo "$LIB"
