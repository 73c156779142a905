#!/usr/bin/env bash
# Installs what CabinAgent's tests and samples need on a fresh machine of this image (.NET SDK, npm,
# cmake and g++ are already there). Idempotent: it installs only what is missing.
# Native engines (llama.cpp, whisper.cpp) are not installed here: the build fetches and caches them itself.
set -euo pipefail

# Debian packages the tests use: a real broker (and its password tool), test speech, certificates.
DEBIAN_PACKAGES=(mosquitto espeak-ng sox alsa-utils openssl)
# Tools the native builds use (whisper.cpp from source, llama.cpp from the npm registry); the image has them,
# so they are installed only when the command is missing.
declare -A BUILD_TOOLS=([cmake]=cmake [g++]=g++ [git]=git [nm]=binutils [npm]=npm [make]=make)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
for tool in "${!BUILD_TOOLS[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${BUILD_TOOLS[$tool]}")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# mosquitto's package starts a system broker on 1883; the tests start their own on free ports, so stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  systemctl stop mosquitto || true
fi
