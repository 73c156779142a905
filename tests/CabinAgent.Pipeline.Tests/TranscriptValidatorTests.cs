namespace CabinAgent.Pipeline.Tests;

public class TranscriptValidatorTests
{
    [Theory]
    [InlineData("ＰＬＡＹ ｍｕｓｉｃ")]
    [InlineData("打开车窗！")]
    [InlineData("二〇二四")]
    public void FullWidthLatinAndHanNumeralsAreSupportedLanguage(string text) =>
        Assert.Null(TranscriptValidator.Check(text, null));

    [Fact]
    public void InvalidUtf8IsARejectionWithAReason()
    {
        Assert.False(TranscriptValidator.TryDecode([0x68, 0xC3, 0x28], out _, out var reason));
        Assert.Equal("transcript is not valid UTF-8", reason);
        Assert.True(TranscriptValidator.TryDecode("下一首"u8, out var text, out _));
        Assert.Equal("下一首", text);
    }
}
