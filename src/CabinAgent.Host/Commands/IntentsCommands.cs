using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Host.Composition;
using CabinAgent.Understanding;
using CabinAgent.Understanding.Deterministic;

namespace CabinAgent.Host.Commands;

/// <summary>
/// <c>cabin-agent intents check|try|bench</c>: work on the deterministic tier's sentence templates
/// (config/intents, see docs/intents.md) without starting the agent.
/// </summary>
internal static class IntentsCommands
{
    public static Command Create()
    {
        var intents = new Command("intents", "Check, try and time the deterministic tier's sentence templates");
        intents.Subcommands.Add(Check());
        intents.Subcommands.Add(Try());
        intents.Subcommands.Add(Bench());
        return intents;
    }

    private static Option<string?> DirectoryOption() =>
        new("--intents") { Description = "Intents directory (default: the shipped config/intents)" };

    private static Option<string?> CatalogOption() =>
        new("--catalog") { Description = "Catalog file (default: the shipped config/actions.json)" };

    private static Command Check()
    {
        var dir = DirectoryOption();
        var catalog = CatalogOption();
        var command = new Command("check", "Load the templates and run every test sentence written beside them") { dir, catalog };
        command.SetAction(parse =>
        {
            if (!TryLoad(parse.GetValue(dir), parse.GetValue(catalog), out var tier, out _))
                return CliSupport.ExitUsage;
            var failures = 0;
            foreach (var test in tier.TestCases)
            {
                var problem = Verify(tier, test);
                if (problem is null) continue;
                failures++;
                Console.WriteLine($"FAIL {test.File}: \"{test.Text}\": {problem}");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sentences: zh {tier.SentenceCount("zh")}, en {tier.SentenceCount("en")}; tests: {tier.TestCases.Count}, failed: {failures}"));
            return failures == 0 ? CliSupport.ExitOk : 1;
        });
        return command;
    }

    private static Command Try()
    {
        var dir = DirectoryOption();
        var catalog = CatalogOption();
        var lang = new Option<string?>("--lang") { Description = "zh or en, as the recognizer would report it" };
        var text = new Argument<string[]>("text") { Description = "Utterances to understand", Arity = ArgumentArity.OneOrMore };
        var command = new Command("try", "Show what the deterministic tier makes of an utterance, and why") { dir, catalog, lang, text };
        command.SetAction(parse =>
        {
            if (!TryLoad(parse.GetValue(dir), parse.GetValue(catalog), out var tier, out _))
                return CliSupport.ExitUsage;
            foreach (var utterance in parse.GetValue(text) ?? [])
            {
                var result = tier.Understand(new Utterance("try", utterance, Languages.FromCode(parse.GetValue(lang)) ?? Languages.Of(utterance, Language.Zh)));
                Console.WriteLine(Describe(utterance, result).ToJsonString(Pretty));
            }
            return CliSupport.ExitOk;
        });
        return command;
    }

    private static Command Bench()
    {
        var dir = DirectoryOption();
        var catalog = CatalogOption();
        var rounds = new Option<int>("--rounds") { Description = "Passes over all test sentences", DefaultValueFactory = _ => 20 };
        var command = new Command("bench", "Time the tier alone over its test sentences (one run, figures as measured)") { dir, catalog, rounds };
        command.SetAction(parse =>
        {
            var count = parse.GetValue(rounds);
            if (count < 1)
            {
                Console.Error.WriteLine("intents bench: --rounds must be at least 1");
                return CliSupport.ExitUsage;
            }
            if (!TryLoad(parse.GetValue(dir), parse.GetValue(catalog), out var tier, out var loadMs))
                return CliSupport.ExitUsage;
            var texts = tier.TestCases.Select(t => new Utterance("bench", t.Text, Languages.Of(t.Text, Language.Zh))).ToArray();
            foreach (var u in texts) tier.Understand(u); // warm-up: JIT and first-use paths

            var micros = new double[texts.Length * count];
            var gen0 = GC.CollectionCount(0);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var i = 0;
            for (var r = 0; r < count; r++)
            {
                foreach (var u in texts)
                {
                    var start = Stopwatch.GetTimestamp();
                    tier.Understand(u);
                    micros[i++] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }
            }
            var bytesPerCall = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)micros.Length;
            Array.Sort(micros);
            double P(double q) => micros[Math.Min(micros.Length - 1, (int)(q * micros.Length))];
            Console.WriteLine(new JsonObject
            {
                ["load_ms"] = Math.Round(loadMs, 1),
                ["sentences"] = tier.SentenceCount("zh") + tier.SentenceCount("en"),
                ["utterances"] = micros.Length,
                ["p50_us"] = Math.Round(P(0.50), 1),
                ["p90_us"] = Math.Round(P(0.90), 1),
                ["p99_us"] = Math.Round(P(0.99), 1),
                ["max_us"] = Math.Round(micros[^1], 1),
                ["bytes_per_call"] = Math.Round(bytesPerCall),
                ["gen0_collections"] = GC.CollectionCount(0) - gen0,
            }.ToJsonString(Pretty));
            return CliSupport.ExitOk;
        });
        return command;
    }

    private static readonly JsonSerializerOptions Pretty = new(CommandJson.Options) { WriteIndented = true };

    private static bool TryLoad(string? intentsDir, string? catalogPath, out DeterministicTier tier, out double loadMs)
    {
        var options = new AgentOptions();
        var start = Stopwatch.GetTimestamp();
        try
        {
            var catalog = ActionCatalog.Load(catalogPath ?? options.ResolveConfigPath("actions.json"));
            tier = DeterministicTier.Load(intentsDir ?? options.ResolveConfigPath("intents"), catalog);
            loadMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return true;
        }
        catch (Exception ex) when (ex is IntentDataException or CatalogException)
        {
            Console.Error.WriteLine($"intents: {ex.Message}");
            tier = null!;
            loadMs = 0;
            return false;
        }
    }

    /// <summary>Null when the tier does what the test sentence says, else what went wrong.</summary>
    private static string? Verify(DeterministicTier tier, IntentTestCase test)
    {
        var result = tier.Understand(new Utterance("check", test.Text, Languages.Of(test.Text, Language.Zh)));
        if (test.Action is null)
        {
            if (result is not NotUnderstood rejected) return $"should be rejected, got {Summary(result)}";
            if (test.ReasonContains is { } word && !rejected.Reason.Contains(word, StringComparison.Ordinal))
                return $"reason should contain '{word}', was '{rejected.Reason}'";
            return null;
        }
        if (result is not Understood understood) return $"expected {test.Action}, got {Summary(result)}";
        if (understood.Action != test.Action || !JsonNode.DeepEquals(understood.Parameters, test.Parameters))
            return $"expected {test.Action} {test.Parameters.ToJsonString(CommandJson.Options)}, got {Summary(result)} via {understood.Explanation}";
        return null;
    }

    private static string Summary(TierResult result) => result switch
    {
        Understood u => $"{u.Action} {u.Parameters.ToJsonString(CommandJson.Options)}",
        NotUnderstood n => $"not understood ({n.Reason})",
        TierFailed f => $"failed ({f.Reason})",
        _ => result.GetType().Name,
    };

    private static JsonObject Describe(string text, TierResult result)
    {
        var json = new JsonObject { ["text"] = text };
        switch (result)
        {
            case Understood u:
                json["action"] = u.Action;
                json["parameters"] = u.Parameters.DeepClone();
                json["confidence"] = u.Confidence;
                json["lang"] = u.Lang.Code();
                break;
            case NotUnderstood n:
                json["not_understood"] = n.Reason;
                break;
            case TierFailed f:
                json["failed"] = f.Reason;
                break;
        }
        json["explanation"] = result.Explanation;
        if (result.Details is not null) json["details"] = result.Details.DeepClone();
        return json;
    }
}
