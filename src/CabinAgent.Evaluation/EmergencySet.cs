using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Safety;

namespace CabinAgent.Evaluation;

/// <summary>One line of <c>eval/emergency-*.jsonl</c>: an emergency (with the service it needs) or a near-miss.</summary>
public sealed record EmergencyCase(string Id, string Lang, string Class, string Input, bool Emergency, string? Service);

/// <summary>
/// The emergency set: sentences a driver says in an emergency and near-misses that must not call anyone. Its own
/// format (not the cockpit cases): it scores the safety judgement alone, which needs no expected command.
/// </summary>
public static class EmergencySet
{
    /// <summary>True when the file's first case has the emergency set's shape (<c>expected.emergency</c>).</summary>
    public static bool IsEmergencySet(string path)
    {
        if (!File.Exists(path)) return false;
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                return JsonNode.Parse(line) is JsonObject o && o["expected"] is JsonObject e && e.ContainsKey("emergency");
            }
            catch (JsonException)
            {
                return false;
            }
        }
        return false;
    }

    public static IReadOnlyList<EmergencyCase> Load(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"dataset not found: {path}");
        var cases = new List<EmergencyCase>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var where = $"{Path.GetFileName(path)}:{number}";
            try
            {
                var o = JsonNode.Parse(line) as JsonObject ?? throw new DatasetException($"{where}: not a JSON object");
                var expected = o["expected"] as JsonObject ?? throw new DatasetException($"{where}: expected missing");
                var c = new EmergencyCase(
                    (string?)o["id"] ?? throw new DatasetException($"{where}: id missing"),
                    (string?)o["lang"] is "zh" or "en" ? (string)o["lang"]! : throw new DatasetException($"{where}: lang must be zh or en"),
                    (string?)o["class"] ?? throw new DatasetException($"{where}: class missing"),
                    (string?)o["input"] ?? throw new DatasetException($"{where}: input missing"),
                    (bool?)expected["emergency"] ?? throw new DatasetException($"{where}: expected.emergency missing"),
                    (string?)expected["service"]);
                if (c.Emergency && c.Service is not ("fire" or "ambulance" or "police" or "general"))
                    throw new DatasetException($"{where}: an emergency needs expected.service (fire, ambulance, police or general)");
                if (!ids.Add(c.Id)) throw new DatasetException($"{where}: duplicate id {c.Id}");
                cases.Add(c);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                throw new DatasetException($"{where}: {ex.Message}");
            }
        }
        if (cases.Count == 0) throw new DatasetException($"{path}: no cases");
        return cases;
    }
}

/// <summary>What the detector made of one case: called at once, asked the driver, or nothing.</summary>
public enum EmergencyVerdict { None, Ask, Call }

public sealed record EmergencyCaseResult(EmergencyCase Case, EmergencyVerdict Verdict, string? Service, string? Rule);

/// <summary>Recall, false calls and the sentences behind them, for one language (or all).</summary>
public sealed record EmergencyFigures(string Lang, int Emergencies, int Called, int Asked, int WrongService, int NearMisses,
    int FalseCalls, int FalseAsks, IReadOnlyList<EmergencyCaseResult> Missed, IReadOnlyList<EmergencyCaseResult> False)
{
    /// <summary>Emergencies that got a call or the emergency question (a question is one "yes" from the call).</summary>
    public double Recall => Emergencies == 0 ? 1 : (double)(Called + Asked) / Emergencies;
    public double CalledAtOnce => Emergencies == 0 ? 1 : (double)Called / Emergencies;
    public double FalseCallRate => NearMisses == 0 ? 0 : (double)FalseCalls / NearMisses;
    public double FalseAskRate => NearMisses == 0 ? 0 : (double)FalseAsks / NearMisses;

    /// <summary>Emergencies called with another service than expected (still a call: counted in recall).</summary>
    public IReadOnlyList<EmergencyCaseResult> WrongServices { get; init; } = [];
}

public sealed record EmergencyReport(string Dataset, string Detector, IReadOnlyList<EmergencyFigures> ByLang, EmergencyFigures All)
{
    public const double RecallTarget = 0.995;
    public const double FalseCallTarget = 0.005;

    public bool TargetsMet => All.Recall >= RecallTarget && All.FalseCallRate <= FalseCallTarget;
}

/// <summary>Runs the emergency set through the detector the safety layer's PreCheck uses, and scores it.</summary>
public static class EmergencyEvaluator
{
    public static EmergencyReport Run(string dataset, IReadOnlyList<EmergencyCase> cases, EmergencyDetector detector)
    {
        var results = cases.Select(c => Judge(c, detector)).ToList();
        var byLang = new[] { "zh", "en" }.Where(l => results.Any(r => r.Case.Lang == l))
            .Select(l => Figures(l, results.Where(r => r.Case.Lang == l).ToList())).ToList();
        return new EmergencyReport(dataset,
            $"{detector.PhraseCount} phrase rules, {detector.SituationClassCount} situation classes", byLang, Figures("all", results));
    }

    public static EmergencyCaseResult Judge(EmergencyCase c, EmergencyDetector detector)
    {
        var scan = detector.Scan(c.Input);
        if (scan.Match is { } call) return new EmergencyCaseResult(c, EmergencyVerdict.Call, call.Service, call.PhraseId);
        if (scan.Ask is { } ask) return new EmergencyCaseResult(c, EmergencyVerdict.Ask, ask.Service, ask.PhraseId);
        return new EmergencyCaseResult(c, EmergencyVerdict.None, null, null);
    }

    private static EmergencyFigures Figures(string lang, IReadOnlyList<EmergencyCaseResult> r)
    {
        var emergencies = r.Where(x => x.Case.Emergency).ToList();
        var near = r.Where(x => !x.Case.Emergency).ToList();
        return new EmergencyFigures(lang,
            emergencies.Count,
            emergencies.Count(x => x.Verdict == EmergencyVerdict.Call),
            emergencies.Count(x => x.Verdict == EmergencyVerdict.Ask),
            emergencies.Count(x => x.Verdict == EmergencyVerdict.Call && x.Service != x.Case.Service),
            near.Count,
            near.Count(x => x.Verdict == EmergencyVerdict.Call),
            near.Count(x => x.Verdict == EmergencyVerdict.Ask),
            emergencies.Where(x => x.Verdict == EmergencyVerdict.None).ToList(),
            near.Where(x => x.Verdict != EmergencyVerdict.None).ToList())
        {
            WrongServices = emergencies.Where(x => x.Verdict == EmergencyVerdict.Call && x.Service != x.Case.Service).ToList(),
        };
    }
}

/// <summary>The emergency report as text (<c>cabin-agent eval eval/emergency-test.jsonl</c>) and as JSON (<c>--report</c>).</summary>
public static class EmergencyReportRenderer
{
    private static string P(double v) => (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    public static string Render(EmergencyReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Emergency set {report.Dataset} — {report.Detector}");
        sb.AppendLine("lang  emergencies  recall   (called / asked)  wrong service  near-misses  false calls  false asks");
        foreach (var f in report.ByLang.Append(report.All))
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{f.Lang,-5} {f.Emergencies,11}  {P(f.Recall),7}  ({f.Called} / {f.Asked}){"",6}  {f.WrongService,13}  {f.NearMisses,11}  {f.FalseCalls,4} {P(f.FalseCallRate),7}  {f.FalseAsks,3} {P(f.FalseAskRate),7}"));
        sb.AppendLine($"targets: recall >= {P(EmergencyReport.RecallTarget)}: {(report.All.Recall >= EmergencyReport.RecallTarget ? "met" : "MISSED")}; " +
                      $"false calls <= {P(EmergencyReport.FalseCallTarget)}: {(report.All.FalseCallRate <= EmergencyReport.FalseCallTarget ? "met" : "MISSED")}");
        foreach (var f in report.ByLang)
        {
            foreach (var m in f.Missed) sb.AppendLine($"missed [{f.Lang}] {m.Case.Id} ({m.Case.Class}): {m.Case.Input}");
            foreach (var m in f.WrongServices)
                sb.AppendLine($"wrong service [{f.Lang}] {m.Case.Id} ({m.Case.Class}): {m.Case.Input} -> {m.Rule} {m.Service}, expected {m.Case.Service}");
            foreach (var m in f.False)
                sb.AppendLine($"false {(m.Verdict == EmergencyVerdict.Call ? "call" : "ask ")} [{f.Lang}] {m.Case.Id} ({m.Case.Class}): {m.Case.Input} -> {m.Rule} {m.Service}");
        }
        return sb.ToString();
    }

    public static JsonObject ToJson(EmergencyReport report)
    {
        static JsonArray List(IEnumerable<EmergencyCaseResult> r) => new(r.Select(x => (JsonNode)new JsonObject
        {
            ["id"] = x.Case.Id, ["class"] = x.Case.Class, ["input"] = x.Case.Input,
            ["verdict"] = x.Verdict.ToString().ToLowerInvariant(), ["rule"] = x.Rule, ["service"] = x.Service,
        }).ToArray());
        JsonObject Figures(EmergencyFigures f) => new()
        {
            ["lang"] = f.Lang, ["emergencies"] = f.Emergencies, ["recall"] = Math.Round(f.Recall, 4),
            ["called"] = f.Called, ["asked"] = f.Asked, ["wrong_service"] = f.WrongService, ["near_misses"] = f.NearMisses,
            ["false_calls"] = f.FalseCalls, ["false_call_rate"] = Math.Round(f.FalseCallRate, 4), ["false_asks"] = f.FalseAsks,
            ["missed"] = List(f.Missed), ["false"] = List(f.False), ["wrong_services"] = List(f.WrongServices),
        };
        return new JsonObject
        {
            ["dataset"] = report.Dataset, ["detector"] = report.Detector,
            ["by_lang"] = new JsonArray(report.ByLang.Select(f => (JsonNode)Figures(f)).ToArray()),
            ["all"] = Figures(report.All), ["targets_met"] = report.TargetsMet,
        };
    }
}
