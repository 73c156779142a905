using CabinAgent.Understanding.Deterministic;
using Xunit;

namespace CabinAgent.Understanding.Tests;

public class LanguageDetectorTests
{
    [Theory]
    [InlineData("导航到哈尔滨市", "zh")]
    [InlineData("play some music", "en")]
    [InlineData("打开 AC", "zh")]
    [InlineData("call 张三", "zh")]
    [InlineData("play 夜曲 by Jay Chou", "en")]
    [InlineData("播放 Taylor Swift 的 Love Story", "en")]
    [InlineData("I'm cold", "en")]
    public void Detects_the_dominant_script(string text, string expected)
    {
        Assert.Equal(expected, LanguageDetector.Detect(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("123 456")]
    [InlineData("，。！")]
    public void Has_no_language_without_words(string text)
    {
        Assert.Null(LanguageDetector.Detect(text));
    }
}
