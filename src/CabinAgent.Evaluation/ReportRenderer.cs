using System.Globalization;
using System.Text;

namespace CabinAgent.Evaluation;

/// <summary>
/// Prints a report in the shape of the seed documents' sample: model information, results, quantization impact,
/// conclusion with pass/fail per target. Chinese or English.
/// </summary>
public static class ReportRenderer
{
    public static string Render(EvalReport report, string lang = "zh")
    {
        var t = lang == "en" ? English : Chinese;
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;

        sb.AppendLine(t["title"]);
        sb.AppendLine(new string('=', 60));
        sb.AppendLine(t["model_info"]);
        sb.AppendLine($"  {t["tiers"]}: {string.Join(" → ", report.Model.Tiers)}");
        if (report.Model.ModelPath is not null)
        {
            sb.AppendLine($"  {t["model_file"]}: {report.Model.ModelPath}");
            if (report.Model.ModelSizeBytes is { } size)
                sb.AppendLine($"  {t["model_size"]}: {FormatBytes(size)}");
            if (report.Model.Quantization is not null)
                sb.AppendLine($"  {t["quantization"]}: {report.Model.Quantization}");
        }
        else
        {
            sb.AppendLine($"  {t["model_file"]}: {t["no_model"]}");
        }
        if (report.Model.RandomWeights)
            sb.AppendLine($"  ⚠ {t["random_weights"]}");
        if (report.Model.Description is not null)
            sb.AppendLine($"  {report.Model.Description}");
        var d = report.Dataset;
        sb.AppendLine($"  {t["dataset"]}: {d.Path} ({t["split"]} {d.Split}, {d.Cases} {t["cases"]}{(d.LangFilter is null ? "" : $", lang={d.LangFilter}")})");
        if (d.Split != "test")
            sb.AppendLine($"  {t["not_held_out"]}");
        sb.AppendLine();

        sb.AppendLine(t["results"]);
        sb.AppendLine($"  {Pad(t["intent"], 28)} {Pct(report.Intent)}");
        sb.AppendLine($"  {Pad(t["execution"], 28)} {Pct(report.Execution)}");
        sb.AppendLine($"  {Pad(t["json"], 28)} {Pct(report.JsonFormat)}");
        sb.AppendLine($"  {Pad(t["safety"], 28)} {Pct(report.SafetyAlert)}");
        if (report.SafetyJudgement.Total > 0)
            sb.AppendLine($"  {Pad(t["safety_judgement"], 28)} {Pct(report.SafetyJudgement)}");
        sb.AppendLine($"  {Pad(t["passed"], 28)} {Pct(report.Passed)}");
        sb.AppendLine($"  {Pad(t["false_alerts"], 28)} {report.FalseAlerts}");
        sb.AppendLine($"  {t["latency"]}:");
        foreach (var l in report.Latency)
        {
            if (l.Cases == 0) continue;
            sb.AppendLine(string.Create(inv,
                $"    {Pad(t["prio_" + l.Priority], 10)} n={l.Cases,-4} p50 {l.P50Ms,8:0.0} ms  p95 {l.P95Ms,8:0.0} ms  max {l.MaxMs,8:0.0} ms  (< {l.LimitMs:0} ms) {Mark(l.Pass, t)}"));
        }
        AppendGroups(sb, t["by_tier"], report.ByTier);
        AppendGroups(sb, t["by_category"], report.ByCategory);
        AppendGroups(sb, t["by_lang"], report.ByLang);
        AppendGroups(sb, t["by_outcome"], report.ByOutcome);
        var cal = report.Calibration;
        sb.AppendLine(cal.Commands == 0
            ? $"  {t["calibration"]}: n/a"
            : string.Create(inv, $"  {t["calibration"]}: ECE {cal.Ece:0.000} ({cal.Commands} {t["commands"]}, 10 bins)"));
        AppendConfusion(sb, t, report);
        sb.AppendLine();

        sb.AppendLine(t["quant_impact"]);
        if (report.Comparison.Count == 0)
        {
            sb.AppendLine($"  {t["no_comparison"]}");
        }
        else
        {
            sb.AppendLine($"  {t["cmp_header"]}");
            foreach (var m in report.Comparison)
            {
                sb.AppendLine(string.Create(inv,
                    $"  {m.Label,-28} {(m.SizeBytes is { } s ? FormatBytes(s) : "-"),10} {m.ExecutionAccuracy * 100,7:0.0}% {m.AccuracyDropPoints,+7:+0.0;-0.0;0.0} pt {m.MeanLatencyMs,9:0.0} ms {m.SpeedUp,6:0.00}x {(m.MemoryBytes is { } mem ? FormatBytes(mem) : "-"),10}{(m.RandomWeights ? "  " + t["random_short"] : "")}"));
            }
        }
        sb.AppendLine();

        sb.AppendLine(t["conclusion"]);
        foreach (var target in report.Targets)
        {
            var value = target.Unit == "ratio" ? Percent(target.Value) : string.Create(inv, $"{target.Value:0.0} ms");
            var goal = target.Unit == "ratio" ? Percent(target.Target) : string.Create(inv, $"{target.Target:0} ms");
            sb.AppendLine($"  {Pad(t["t_" + target.Name], 28)} {value,9} ({target.Comparison} {goal}) {Mark(target.Pass, t)}");
        }
        var measured = report.Targets.Where(x => x.Pass is not null).ToList();
        var all = measured.Count > 0 && measured.All(x => x.Pass == true);
        sb.AppendLine($"  {t["overall"]}: {(all ? t["pass"] : t["fail"])}{(report.Model.RandomWeights ? " — " + t["random_weights"] : "")}");
        sb.AppendLine($"  {t["failures"]}: {report.Failures.Count}");
        return sb.ToString();
    }

    /// <summary>Pads to a terminal width: CJK characters take two columns, so <c>PadRight</c> would misalign Chinese labels.</summary>
    internal static string Pad(string text, int columns)
    {
        var width = 0;
        foreach (var c in text)
            width += c is >= '\u1100' and (<= '\u115F' or >= '\u2E80' and <= '\uA4CF' or >= '\uAC00' and <= '\uD7A3' or >= '\uF900' and <= '\uFAFF' or >= '\uFE30' and <= '\uFE4F' or >= '\uFF00' and <= '\uFF60' or >= '\uFFE0' and <= '\uFFE6') ? 2 : 1;
        return width >= columns ? text : text + new string(' ', columns - width);
    }

    private static void AppendGroups(StringBuilder sb, string title, IReadOnlyDictionary<string, GroupStats> groups)
    {
        sb.AppendLine($"  {title}:");
        foreach (var (key, g) in groups)
            sb.AppendLine($"    {key,-24} n={g.Cases,-5} intent {Pct(g.Intent),-20} exec {Pct(g.Execution),-20} pass {Pct(g.Passed)}");
    }

    private static void AppendConfusion(StringBuilder sb, IReadOnlyDictionary<string, string> t, EvalReport report)
    {
        // Only the off-diagonal cells: the full matrix is in the JSON report.
        var errors = report.Confusion
            .SelectMany(row => row.Value.Where(cell => cell.Key != row.Key).Select(cell => (Expected: row.Key, Got: cell.Key, Count: cell.Value)))
            .OrderByDescending(x => x.Count).ThenBy(x => x.Expected, StringComparer.Ordinal).ThenBy(x => x.Got, StringComparer.Ordinal)
            .Take(15).ToList();
        sb.AppendLine($"  {t["confusion"]}:");
        if (errors.Count == 0)
            sb.AppendLine($"    {t["none"]}");
        foreach (var e in errors)
            sb.AppendLine($"    {e.Expected,-24} → {e.Got,-24} {e.Count}");
    }

    private static string Pct(Ratio r) => r.Total == 0 ? "n/a" : $"{Percent(r.Value)} ({r.Correct}/{r.Total})";

    private static string Percent(double v) =>
        double.IsNaN(v) ? "n/a" : (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Mark(bool? pass, IReadOnlyDictionary<string, string> t) =>
        pass switch { true => "✓ " + t["pass"], false => "✗ " + t["fail"], null => "- " + t["not_measured"] };

    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.0} KiB"),
        _ => $"{bytes} B",
    };

    private static readonly Dictionary<string, string> Chinese = new()
    {
        ["title"] = "CabinAgent 座舱评测报告",
        ["model_info"] = "【模型信息】",
        ["tiers"] = "理解层级",
        ["model_file"] = "模型文件",
        ["model_size"] = "模型大小",
        ["quantization"] = "量化",
        ["no_model"] = "无（不使用大模型）",
        ["random_weights"] = "这是随机权重的测试模型：准确率数字没有意义，只验证流程和速度",
        ["random_short"] = "(随机权重)",
        ["dataset"] = "评测集",
        ["split"] = "划分",
        ["cases"] = "条",
        ["not_held_out"] = "注意：这不是留出测试集（test），模板和提示词可能在它上面调过",
        ["results"] = "【测试结果】",
        ["intent"] = "意图识别准确率",
        ["execution"] = "动作执行准确率",
        ["json"] = "JSON格式准确率",
        ["safety"] = "安全提醒准确率",
        ["safety_judgement"] = "安全判断准确率",
        ["passed"] = "完全通过率",
        ["false_alerts"] = "误报警（不该报警的用例）",
        ["latency"] = "响应时间",
        ["prio_emergency"] = "紧急",
        ["prio_high"] = "高",
        ["prio_medium"] = "普通",
        ["prio_low"] = "查询",
        ["by_tier"] = "按层级",
        ["by_category"] = "按类别",
        ["by_lang"] = "按语言",
        ["by_outcome"] = "按预期结果",
        ["calibration"] = "置信度校准",
        ["commands"] = "条指令",
        ["confusion"] = "动作混淆（预期 → 实际，前15）",
        ["none"] = "无",
        ["quant_impact"] = "【量化影响】",
        ["no_comparison"] = "未比较（用 --compare A.gguf B.gguf 测量）",
        ["cmp_header"] = "模型                          大小       执行准确率  下降        平均延迟    加速     内存",
        ["conclusion"] = "【结论】",
        ["t_intent_accuracy"] = "意图识别 > 95%",
        ["t_action_execution_accuracy"] = "动作执行 > 98%",
        ["t_json_format_accuracy"] = "JSON格式 > 99%",
        ["t_safety_alert_accuracy"] = "安全提醒 > 99.5%",
        ["t_response_time_p95_emergency"] = "紧急响应 p95 < 1秒",
        ["t_response_time_p95_high"] = "高优先级 p95 < 2秒",
        ["t_response_time_p95_medium"] = "普通指令 p95 < 2秒",
        ["t_response_time_p95_low"] = "查询 p95 < 3秒",
        ["pass"] = "通过",
        ["fail"] = "未通过",
        ["not_measured"] = "未测量",
        ["overall"] = "总体",
        ["failures"] = "失败用例数（详见 JSON 报告）",
    };

    private static readonly Dictionary<string, string> English = new()
    {
        ["title"] = "CabinAgent cockpit evaluation report",
        ["model_info"] = "[Model information]",
        ["tiers"] = "Tiers",
        ["model_file"] = "Model file",
        ["model_size"] = "Model size",
        ["quantization"] = "Quantization",
        ["no_model"] = "none (no LLM tier)",
        ["random_weights"] = "this is a random-weight test model: its accuracy means nothing, only the path and speed are measured",
        ["random_short"] = "(random weights)",
        ["dataset"] = "Dataset",
        ["split"] = "split",
        ["cases"] = "cases",
        ["not_held_out"] = "Note: this is not the held-out test split; templates and prompts may have been tuned on it",
        ["results"] = "[Results]",
        ["intent"] = "Intent accuracy",
        ["execution"] = "Action execution accuracy",
        ["json"] = "JSON format accuracy",
        ["safety"] = "Safety alert accuracy",
        ["safety_judgement"] = "Safety judgement accuracy",
        ["passed"] = "Cases fully passed",
        ["false_alerts"] = "False alerts",
        ["latency"] = "Response time",
        ["prio_emergency"] = "emergency",
        ["prio_high"] = "high",
        ["prio_medium"] = "medium",
        ["prio_low"] = "low",
        ["by_tier"] = "By tier",
        ["by_category"] = "By category",
        ["by_lang"] = "By language",
        ["by_outcome"] = "By expected outcome",
        ["calibration"] = "Confidence calibration",
        ["commands"] = "commands",
        ["confusion"] = "Action confusions (expected → got, top 15)",
        ["none"] = "none",
        ["quant_impact"] = "[Quantization impact]",
        ["no_comparison"] = "not compared (measure with --compare A.gguf B.gguf)",
        ["cmp_header"] = "Model                          size      exec acc     drop       mean lat   speed-up   memory",
        ["conclusion"] = "[Conclusion]",
        ["t_intent_accuracy"] = "Intent > 95%",
        ["t_action_execution_accuracy"] = "Action execution > 98%",
        ["t_json_format_accuracy"] = "JSON format > 99%",
        ["t_safety_alert_accuracy"] = "Safety alerts > 99.5%",
        ["t_response_time_p95_emergency"] = "Emergency p95 < 1 s",
        ["t_response_time_p95_high"] = "High priority p95 < 2 s",
        ["t_response_time_p95_medium"] = "Ordinary p95 < 2 s",
        ["t_response_time_p95_low"] = "Queries p95 < 3 s",
        ["pass"] = "PASS",
        ["fail"] = "FAIL",
        ["not_measured"] = "not measured",
        ["overall"] = "Overall",
        ["failures"] = "Failed cases (see the JSON report)",
    };
}
