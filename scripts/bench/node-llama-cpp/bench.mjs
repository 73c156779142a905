// The reference for `cabin-agent bench llm --node-llama-cpp`: the same model, system prompt, command
// schema (action + parameters, as our tier generates) and utterances, through node-llama-cpp's own
// JSON-schema grammar and chat session, in the same run. Prints one JSON object.
import { getLlama, LlamaChatSession } from "node-llama-cpp";
import fs from "node:fs";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath: args.model });
const context = await model.createContext({ contextSize: 4096, threads: Number(args.threads), sequences: 1 });
const sequence = context.getSequence();
const grammar = await llama.createGrammarForJsonSchema(JSON.parse(fs.readFileSync(args.schema, "utf8")));
const utterances = JSON.parse(fs.readFileSync(args.utterances, "utf8"));
const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: fs.readFileSync(args["system-prompt"], "utf8") });

// Warm-up: evaluates the system prompt; later prompts reuse its tokens in the sequence.
await session.prompt(utterances[0], { grammar, maxTokens: 128 });
const ms = [];
let outputTokens = 0, complete = 0;
for (let r = 0; r < Number(args.rounds); r++) {
  for (const text of utterances) {
    session.resetChatHistory();
    const t0 = performance.now();
    const out = await session.prompt(text, { grammar, maxTokens: 128 });
    ms.push(performance.now() - t0);
    outputTokens += model.tokenize(out).length;
    try { JSON.parse(out); complete++; } catch { /* cut by maxTokens: counted as incomplete */ }
  }
}
const sorted = [...ms].sort((a, b) => a - b);
const pct = p => sorted[Math.round((p / 100) * (sorted.length - 1))];
const total = ms.reduce((a, b) => a + b, 0);
console.log(JSON.stringify({
  version: "3.22.1", utterances: ms.length, complete_json: complete,
  p50_ms: pct(50), p95_ms: pct(95), ms_per_output_token: total / Math.max(1, outputTokens),
}));
await context.dispose();
await model.dispose();
