#!/usr/bin/env bash
# Installs what CabinAgent's tests and samples need on a fresh machine of this image (.NET SDK already there).
# Idempotent: it installs only what is missing.
# The native engines (llama.cpp, whisper.cpp) are NuGet packages (LLamaSharp.Backend.*, Whisper.net.Runtime*):
# `dotnet restore` brings them; nothing is fetched with npm or built with cmake.
set -euo pipefail

# Debian packages the tests use: a real broker (and its password tool), test speech, certificates.
DEBIAN_PACKAGES=(mosquitto espeak-ng sox alsa-utils openssl)
# Tools the tests call (nm reads the natives' exported symbols), installed only when the command is missing.
declare -A TEST_TOOLS=([nm]=binutils [python3]=python3)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
for tool in "${!TEST_TOOLS[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${TEST_TOOLS[$tool]}")
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
