using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm.Prompting;

namespace CabinAgent.Tools.Bench;

/// <summary>
/// <c>bench llm --node-llama-cpp</c>: the LLM issue's reference measured in the same run instead of quoted —
/// node-llama-cpp 3.22.1 (the package our llama.cpp binaries came from before LLamaSharp) generating the same command
/// (<c>{"action", "parameters"}</c>, per-action parameter schemas) for the same utterances on the same model, with
/// the same system prompt and thread count, through its own JSON-schema grammar
/// (<c>scripts/bench/node-llama-cpp.sh</c>, which installs the pinned package into the cache when missing).
/// </summary>
public static class NodeLlamaCppReference
{
    public static JsonObject Run(string modelPath, ActionCatalog catalog, int rounds, int threads, TextWriter progress)
    {
        var script = RepoFiles.Find(Path.Combine("scripts", "bench", "node-llama-cpp.sh"))
            ?? throw new IOException("scripts/bench/node-llama-cpp.sh not found above the current or the program's directory");
        var work = Directory.CreateTempSubdirectory("cabin-bench-node-");
        try
        {
            var schema = Path.Combine(work.FullName, "schema.json");
            var prompt = Path.Combine(work.FullName, "system-prompt.txt");
            var utterances = Path.Combine(work.FullName, "utterances.json");
            File.WriteAllText(schema, ModelOutputSchema(catalog).ToJsonString());
            File.WriteAllText(prompt, SystemPrompt.Build(catalog));
            File.WriteAllText(utterances, JsonSerializer.Serialize(LlmBenchmark.DefaultUtterances));

            progress.WriteLine("bench llm: the same utterances through node-llama-cpp's JSON-schema grammar");
            var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in new[]
                     {
                         "--model", Path.GetFullPath(modelPath), "--schema", schema, "--system-prompt", prompt, "--utterances", utterances,
                         "--rounds", rounds.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture),
                     })
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start) ?? throw new IOException($"could not start {script}");
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new IOException($"{script} exited with code {process.ExitCode} (its messages are above)");
            var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            return JsonNode.Parse(line ?? "") as JsonObject ?? throw new InvalidDataException($"{script} printed no JSON result");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>What the model writes in our tier: one branch per action, its parameters' own schema.</summary>
    internal static JsonObject ModelOutputSchema(ActionCatalog catalog) => new()
    {
        ["oneOf"] = new JsonArray(catalog.Actions.Select(action => (JsonNode)new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["action"] = new JsonObject { ["const"] = action.Name },
                ["parameters"] = CommandSchema.ParametersSchema(action),
            },
            ["required"] = new JsonArray("action", "parameters"),
            ["additionalProperties"] = false,
        }).ToArray()),
    };
}
