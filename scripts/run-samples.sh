#!/usr/bin/env bash
# The main job on the shipped samples: every sample utterance (and a recorded drive: telemetry mixed with
# utterances) through the real pipeline and safety layer, published on an
# embedded MQTT broker; one JSON line per utterance on stdout, a summary on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/CabinAgent.Host -c Release -nologo -clp:ErrorsOnly >&2
exec dotnet src/CabinAgent.Host/bin/Release/net10.0/cabin-agent.dll replay samples/utterances.jsonl samples/drive-trace.jsonl "$@"
