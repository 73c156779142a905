using CabinAgent.Understanding.Deterministic;
using Xunit;

namespace CabinAgent.Understanding.Tests;

public class TemplateNormalizerTests
{
    private static readonly TemplateNormalizer Normalizer = new(["嗯", "一下", "uh", "um"]);

    [Theory]
    [InlineData("播放 Taylor Swift 的 Love Story", "播放taylor swift的love story")]
    [InlineData("打开 AC", "打开ac")]
    [InlineData("ＰＬＡＹ　ｍｕｓｉｃ！", "play music")]
    [InlineData("把温度调到23.5度。", "把温度调到23.5度")]
    [InlineData("嗯，帮我查一下油量", "帮我查油量")]
    [InlineData("uh, play   Despacito", "play despacito")]
    [InlineData("I'm cold", "i'm cold")]
    [InlineData("play hip-hop", "play hip-hop")]
    [InlineData("play R&B", "play r&b")]
    [InlineData("放一首《青花瓷》", "放一首青花瓷")]
    [InlineData("umbrella", "umbrella")]
    [InlineData("", "")]
    [InlineData(" ，。 ", "")]
    public void Normalizes(string input, string expected)
    {
        Assert.Equal(expected, Normalizer.Normalize(input).Text);
    }

    [Fact]
    public void Span_is_copied_from_the_original_text()
    {
        var text = Normalizer.Normalize("播放 Taylor Swift 的 Love Story");
        var start = text.Text.IndexOf("taylor swift", StringComparison.Ordinal);

        Assert.Equal("Taylor Swift", text.OriginalSpan(start, "taylor swift".Length));
    }

    [Fact]
    public void Span_keeps_inner_punctuation_but_not_the_edges()
    {
        var text = Normalizer.Normalize("导航到「万达广场」。");
        var start = text.Text.IndexOf("万达广场", StringComparison.Ordinal);

        Assert.Equal("万达广场", text.OriginalSpan(start, 4));
        var dr = Normalizer.Normalize("call Dr. Brown");
        Assert.Equal("Dr. Brown", dr.OriginalSpan(5, dr.Text.Length - 5));
    }
}

/// <summary>
/// Where the template normalizer differs from the safety layer's <c>PhraseNormalizer</c> (whose tests hold the other
/// side of each case): it keeps what a value is made of, and drops fillers.
/// </summary>
public class TemplateNormalizerDifferenceTests
{
    private static readonly TemplateNormalizer Normalizer = new(["嗯"]);

    [Theory]
    [InlineData("温度23.5度", "温度23.5度")]      // the phrase form: 温度235度
    [InlineData("don't stop", "don't stop")]      // the phrase form: dont stop
    [InlineData("play hip-hop", "play hip-hop")]  // the phrase form: play hip hop
    [InlineData("call 9 1 1", "call 9 1 1")]      // the phrase form: call 911
    [InlineData("拨打一一〇", "拨打一一〇")]        // the phrase form: 拨打一一零
    [InlineData("嗯 救命", "救命")]                // the phrase form keeps the filler: 嗯救命
    [InlineData("救護車", "救護車")]               // the phrase form (with the shipped map) simplifies: 救护车
    public void Keeps_values_as_spoken_and_drops_fillers(string input, string expected) =>
        Assert.Equal(expected, Normalizer.Normalize(input).Text);
}
