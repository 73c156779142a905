using System.Text;
using static CabinAgent.Evaluation.Tests.Cases;

namespace CabinAgent.Evaluation.Tests;

public class GgufAndComparisonTests
{
    /// <summary>A GGUF v3 header with the given metadata and no tensors.</summary>
    private static string WriteGguf(string name, uint fileType)
    {
        var path = Path.Combine(Path.GetTempPath(), $"cabin-{Guid.NewGuid():N}.gguf");
        using var w = new BinaryWriter(File.Create(path));
        w.Write(0x46554747u);
        w.Write(3u);
        w.Write(0ul);
        w.Write(5ul);
        void Key(string k) { var b = Encoding.UTF8.GetBytes(k); w.Write((ulong)b.Length); w.Write(b); }
        void Str(string k, string v) { Key(k); w.Write(8u); var b = Encoding.UTF8.GetBytes(v); w.Write((ulong)b.Length); w.Write(b); }
        Str("general.architecture", "qwen2");
        Key("tokenizer.ggml.scores"); w.Write(9u); w.Write(6u); w.Write(2ul); w.Write(0.5f); w.Write(0.25f);
        Key("qwen2.context_length"); w.Write(4u); w.Write(512u);
        Str("general.name", name);
        Key("general.file_type"); w.Write(4u); w.Write(fileType);
        return path;
    }

    [Fact]
    public void Reads_name_architecture_and_quantization()
    {
        var path = WriteGguf("cabin-agent test LLM 1 (random weights, Qwen2 tokenizer)", 2);
        try
        {
            var info = GgufInfo.Read(path);
            Assert.Equal("qwen2", info.Architecture);
            Assert.Equal("Q4_0", info.Quantization);
            Assert.True(info.RandomWeights);
            Assert.Equal(new FileInfo(path).Length, info.SizeBytes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_named_model_is_not_random_and_a_text_file_is_not_gguf()
    {
        var path = WriteGguf("Qwen2.5 0.5B Instruct", 15);
        var text = Path.GetTempFileName();
        try
        {
            var info = GgufInfo.Read(path);
            Assert.False(info.RandomWeights);
            Assert.Equal("Q4_K_M", info.Quantization);
            File.WriteAllText(text, "hello");
            Assert.StartsWith(text + ": not a GGUF file", Assert.Throws<InvalidDataException>(() => GgufInfo.Read(text)).Message);
            File.WriteAllBytes(text, [0x47, 0x47, 0x55, 0x46, 3, 0]);
            Assert.EndsWith("truncated GGUF header", Assert.Throws<InvalidDataException>(() => GgufInfo.Read(text)).Message);
        }
        finally
        {
            File.Delete(path);
            File.Delete(text);
        }
    }

    [Fact]
    public void Comparison_is_relative_to_the_first_model()
    {
        EvalReport Run(bool secondRight, double latency) => EvalMetrics.Compute(
        [
            Scoring.Score(Make("a", "MUSIC_NEXT"), Published("MUSIC_NEXT", latencyMs: latency)),
            Scoring.Score(Make("b", "MUSIC_PAUSE"), Published(secondRight ? "MUSIC_PAUSE" : "MUSIC_NEXT", latencyMs: latency)),
        ], new DatasetInfo("x", "test", 2, null), new ModelInfo(["llm"], RandomWeights: true));

        var rows = ModelComparisonTable.Build([new ModelRun("f16.gguf", 4000, Run(true, 300), 1000), new ModelRun("q4.gguf", 1000, Run(false, 100), 300)]);
        Assert.Equal(0.0, rows[0].AccuracyDropPoints);
        Assert.Equal(1.0, rows[0].SpeedUp);
        Assert.Equal(50.0, rows[1].AccuracyDropPoints, 9);
        Assert.Equal(3.0, rows[1].SpeedUp, 9);
        Assert.Equal(0.5, rows[1].ExecutionAccuracy);
        Assert.True(rows[1].RandomWeights);
        var text = ReportRenderer.Render(Run(true, 300) with { Comparison = rows }, "en");
        Assert.Contains("q4.gguf", text);
        Assert.Contains("+50.0 pt", text);
        Assert.Contains("3.00x", text);
    }
}
