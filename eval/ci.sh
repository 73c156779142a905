#!/usr/bin/env bash
# CI's evaluation step: both files valid against the catalog, then the deterministic path over the held-out split.
# Every figure is measured; missed targets do not fail the build (add --check to make them).
# Usage: eval/ci.sh [extra cabin-agent eval options]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${EVAL_OUT:-artifacts/eval}"
mkdir -p "$out"
# Same configuration as scripts/test.sh builds, so nothing is rebuilt.
run=(dotnet run --project src/CabinAgent.Host -c "${CONFIGURATION:-Release}" --no-launch-profile --)
"${run[@]}" dataset validate eval/dev.jsonl eval/test.jsonl
"${run[@]}" eval eval/test.jsonl --dry-run --report-lang en --report "$out/test-report.json" "$@" | tee "$out/test-report.txt"
