using System.Text.Json.Nodes;
using static CabinAgent.Evaluation.Tests.Cases;

namespace CabinAgent.Evaluation.Tests;

public class ReportTests
{
    private static EvalReport Sample(ModelInfo model) => EvalMetrics.Compute(
    [
        Scoring.Score(Make("a", "MUSIC_NEXT"), Published("MUSIC_NEXT", latencyMs: 12)),
        Scoring.Score(Make("b", "VOLUME_SET", new JsonObject { ["level"] = 30 }), Published("VOLUME_SET", new JsonObject { ["level"] = 3 })),
        Scoring.Score(Make("c", null, priority: "low"), NotUnderstood()),
    ], new DatasetInfo("eval/dev.jsonl", "dev", 3, null), model);

    [Fact]
    public void Text_report_has_the_seed_sections_in_chinese_and_english()
    {
        var report = Sample(new ModelInfo(["deterministic"]));
        var zh = ReportRenderer.Render(report, "zh");
        foreach (var section in new[] { "【模型信息】", "【测试结果】", "【量化影响】", "【结论】" })
            Assert.Contains(section, zh);
        Assert.Contains("意图识别准确率", zh);
        Assert.Contains("66.7% (2/3)", zh);
        Assert.Contains("注意：这不是留出测试集", zh);
        var en = ReportRenderer.Render(report, "en");
        foreach (var section in new[] { "[Model information]", "[Results]", "[Quantization impact]", "[Conclusion]" })
            Assert.Contains(section, en);
        Assert.Contains("Action execution > 98%", en);
        Assert.Contains("Overall: FAIL", en);
    }

    [Fact]
    public void A_random_weight_model_is_said_plainly()
    {
        var report = Sample(new ModelInfo(["deterministic", "llm"], "/cache/tiny.gguf", 123456, "Q4_0", RandomWeights: true));
        var en = ReportRenderer.Render(report, "en");
        Assert.Contains("this is a random-weight test model: its accuracy means nothing", en);
        Assert.Contains("/cache/tiny.gguf", en);
        Assert.Contains("120.6 KiB", en);
        Assert.Contains("这是随机权重的测试模型", ReportRenderer.Render(report, "zh"));
        Assert.True(ReportJson.ToJson(report)["model"]!["random_weights"]!.GetValue<bool>());
    }

    [Fact]
    public void Json_report_lists_every_failure_and_writes_null_for_unmeasured()
    {
        var json = ReportJson.ToJson(Sample(new ModelInfo(["deterministic"])));
        var failure = Assert.Single(json["failures"]!.AsArray())!;
        Assert.Equal("b", failure["id"]!.GetValue<string>());
        Assert.Equal(3, failure["actual"]!["parameters"]!["level"]!.GetValue<int>());
        Assert.Equal(["parameters: expected {\"level\":30}, got {\"level\":3}"], failure["mismatches"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(2, json["execution"]!["correct"]!.GetValue<int>());
        Assert.Equal(3, json["intent"]!["total"]!.GetValue<int>());
        var emergency = json["latency"]!.AsArray().Single(l => l!["priority"]!.GetValue<string>() == "emergency")!;
        Assert.Null(emergency["p95_ms"]);
        Assert.Null(emergency["pass"]);
        Assert.Equal(1, json["confusion"]!["VOLUME_SET"]!["VOLUME_SET"]!.GetValue<int>());
    }
}

public class PadTests
{
    [Theory]
    [InlineData("意图", 6, "意图  ")]
    [InlineData("ab", 4, "ab  ")]
    [InlineData("（急救）", 4, "（急救）")]
    public void Pads_by_terminal_columns(string text, int columns, string expected) =>
        Assert.Equal(expected, ReportRenderer.Pad(text, columns));
}
