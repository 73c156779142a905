using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;

namespace CabinAgent.Tools.Bench;

/// <summary>
/// <c>bench deterministic</c>: utterances one after another through a pipeline the caller composed (deterministic
/// tier, schema, gate, publish to a loopback broker). Measures transcript → publish call returned per published
/// command, and the total of every outcome; figures from one run, never asserted.
/// </summary>
public static class DeterministicBench
{
    public static async Task<JsonObject> RunAsync(UtterancePipeline pipeline, IReadOnlyList<string> texts, int count, CancellationToken ct)
    {
        // Warm-up: JIT, tiered compilation and the broker's session, so the run measures steady state.
        for (var i = 0; i < Math.Min(2_000, count); i++)
            await pipeline.ProcessAsync(new UtteranceInput($"warmup-{i}", texts[i % texts.Count]) { AcceptedUnixMs = NowMs() }, ct);

        var toPublish = new List<double>(count);
        var total = new List<double>(count);
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var gcBefore = GC.CollectionCount(0);
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var record = await pipeline.ProcessAsync(new UtteranceInput($"bench-{i}", texts[i % texts.Count]) { AcceptedUnixMs = NowMs() }, ct);
            outcomes[record.Outcome.Wire()] = outcomes.GetValueOrDefault(record.Outcome.Wire()) + 1;
            total.Add(record.LatencyMs["total"]);
            if (record.Outcome == Outcome.Published)
                toPublish.Add(TimeToPublish(record));
        }
        wall.Stop();

        var publish = LatencySummary.Of(toPublish);
        var all = LatencySummary.Of(total);
        return new JsonObject
        {
            ["benchmark"] = "deterministic",
            ["utterances"] = count,
            ["distinct_texts"] = texts.Count,
            ["published"] = toPublish.Count,
            ["outcomes"] = new JsonObject(outcomes.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["p50_ms"] = Round(publish.P50),
            ["p95_ms"] = Round(publish.P95),
            ["p99_ms"] = Round(publish.P99),
            ["max_ms"] = Round(publish.Max),
            ["all_outcomes_p50_ms"] = Round(all.P50),
            ["all_outcomes_p99_ms"] = Round(all.P99),
            ["throughput_per_s"] = Math.Round(count / wall.Elapsed.TotalSeconds, 1),
            ["gen0_collections"] = GC.CollectionCount(0) - gcBefore,
            ["target_p99_ms"] = 5.0,
            ["machine"] = Machine.Description(),
        };
    }

    public static string ToText(JsonObject r) => string.Join(Environment.NewLine, new[]
    {
        $"deterministic tier → schema → publish (loopback broker), {r["utterances"]} utterances, {r["published"]} published",
        $"  transcript→publish ms: p50={Ms(r["p50_ms"])} p95={Ms(r["p95_ms"])} p99={Ms(r["p99_ms"])} max={Ms(r["max_ms"])} (target p99 ≤ 5)",
        $"  every outcome ms:      p50={Ms(r["all_outcomes_p50_ms"])} p99={Ms(r["all_outcomes_p99_ms"])}; {r["throughput_per_s"]} utterances/s",
        "  outcomes: " + string.Join(", ", r["outcomes"]!.AsObject().Select(kv => $"{kv.Key}={kv.Value}")),
        $"  machine: {r["machine"]}",
    });

    /// <summary>Transcript received → publish call returned: the stages up to and including <c>publish</c>.</summary>
    public static double TimeToPublish(UtteranceRecord record)
    {
        var sum = 0.0;
        foreach (var (stage, ms) in record.LatencyMs)
        {
            if (stage == "total") break;
            sum += ms;
            if (stage == "publish") break;
        }
        return sum;
    }

    private static string Ms(JsonNode? ms) => ms!.GetValue<double>().ToString("F3", CultureInfo.InvariantCulture);

    private static long NowMs() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

    private static double Round(double ms) => Math.Round(ms, 4);
}
