namespace CabinAgent.Pipeline.Tests;

public class TranscriptValidatorTests
{
    [Theory]
    [InlineData("播放 Taylor Swift 的 Love Story", "zh")]
    [InlineData("play 晴天 by Jay Chou", "en")]
    [InlineData("Taylor Swift 的歌放一下", "zh")]
    [InlineData("打开 AC", "zh")]
    [InlineData("turn on the AC", "en")]
    [InlineData("导航到哈尔滨市", "zh")]
    [InlineData("123", "zh")]
    public void LanguageIsDetectedFromTheText(string text, string lang) =>
        Assert.Equal(lang, TranscriptValidator.DetectLanguage(text));

    [Fact]
    public void InvalidUtf8IsARejectionWithAReason()
    {
        Assert.False(TranscriptValidator.TryDecode([0x68, 0xC3, 0x28], out _, out var reason));
        Assert.Equal("transcript is not valid UTF-8", reason);
        Assert.True(TranscriptValidator.TryDecode("下一首"u8, out var text, out _));
        Assert.Equal("下一首", text);
    }
}
