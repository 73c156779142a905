#!/usr/bin/env bash
# CI's evaluation step: both files valid against the catalog, then the deterministic path over the held-out split,
# then the LLM path on the generated test model (plumbing only).
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
# Plumbing only: every case through the LLM tier on the generated random-weight test model with its random LoRA
# adapter. Its accuracy means nothing (the report says so); this shows the model path, the adapter, the JSON and
# the timings work end to end on the held-out split.
model="$("${run[@]}" models make-test-llm | cut -d: -f1)"
adapter="$("${run[@]}" models make-test-lora | cut -d: -f1)"
"${run[@]}" eval eval/test.jsonl --tier llm --model "$model" --lora "$adapter" --dry-run --report-lang en \
  --report "$out/test-report-llm-plumbing.json" > "$out/test-report-llm-plumbing.txt"
grep -E "Model file|LoRA|JSON format|Overall" "$out/test-report-llm-plumbing.txt"
