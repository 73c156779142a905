using CabinAgent.Safety;

namespace CabinAgent.Safety.Tests;

/// <summary>
/// Where the phrase normalizer differs from the deterministic tier's <c>TemplateNormalizer</c> (whose tests hold the
/// other side of each case): a phrase must match however ASR spelled it, so it folds harder and keeps every word.
/// </summary>
public class PhraseNormalizerTests
{
    private static readonly PhraseNormalizer Plain = new();

    [Theory]
    [InlineData("温度23.5度", "温度235度")]        // the template form keeps the value: 温度23.5度
    [InlineData("don't stop", "dont stop")]       // the template form: don't stop
    [InlineData("play hip-hop", "play hip hop")]  // the template form: play hip-hop
    [InlineData("call 9 1 1", "call 911")]        // the template form: call 9 1 1
    [InlineData("拨打一一〇", "拨打一一零")]        // the template form: 拨打一一〇
    [InlineData("嗯 救命", "嗯救命")]              // the template form drops the filler: 救命
    public void Folds_harder_and_keeps_every_word(string input, string expected) =>
        Assert.Equal(expected, Plain.Normalize(input));

    [Fact]
    public void Simplifies_the_configured_traditional_characters() =>
        Assert.Equal("救护车", Harness.Detector.Normalizer.Normalize("救護車")); // the template form: 救護車
}
