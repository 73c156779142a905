namespace CabinAgent.Llm.Tests;

public sealed class LlmOptionsTests
{
    [Fact]
    public void Defaults_are_greedy_with_a_three_second_deadline()
    {
        var o = new LlmOptions();
        Assert.Equal(0f, o.Temperature);
        Assert.Equal(3000, o.DecodeDeadlineMs);
        Assert.Contains("Llm:ModelPath is required", o.Validate());
    }

    [Fact]
    public void Every_bad_value_is_named()
    {
        var o = new LlmOptions
        {
            ModelPath = "/does/not/exist.gguf", ContextLength = 10, Threads = -1, MaxOutputTokens = 2, DecodeDeadlineMs = 0,
            ConfidenceFloor = 1.5, Temperature = -1, TopP = 0, MaxUtteranceChars = 0,
        };
        var errors = o.Validate();
        foreach (var key in new[] { "ModelPath", "ContextLength", "Threads", "MaxOutputTokens", "DecodeDeadlineMs", "ConfidenceFloor", "Temperature", "TopP", "MaxUtteranceChars" })
            Assert.Contains(errors, e => e.StartsWith("Llm:" + key, StringComparison.Ordinal));
        Assert.False(new LlmOptionsValidator().Validate(null, o).Succeeded);
    }
}
