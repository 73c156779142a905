using CabinAgent.Speech.Whisper;

namespace CabinAgent.Speech.Tests;

public class HallucinationFilterTests
{
    private readonly HallucinationFilter _filter = HallucinationFilter.FromOptions(new SpeechOptions());

    [Theory]
    [InlineData("谢谢观看")]
    [InlineData("谢谢观看。")]
    [InlineData(" Thank you. ")]
    [InlineData("THANK YOU!")]
    [InlineData("Thanks for watching!")]
    public void Known_phrases_on_near_silent_audio_are_dropped(string text)
    {
        var reason = _filter.ShouldDrop(text, levelDbfs: -60, noSpeechProbability: 0.05f);
        Assert.Equal($"known hallucination \"{text}\" on near-silent audio (-60.0 dBFS < -45.0)", reason);
    }

    [Fact]
    public void A_known_phrase_is_dropped_when_whisper_itself_doubts_there_was_speech()
    {
        Assert.Equal("known hallucination \"谢谢观看\" with no-speech probability 0.50",
            _filter.ShouldDrop("谢谢观看", levelDbfs: -20, noSpeechProbability: 0.5f));
    }

    [Fact]
    public void A_driver_really_saying_thank_you_out_loud_is_kept()
    {
        Assert.Null(_filter.ShouldDrop("Thank you.", levelDbfs: -20, noSpeechProbability: 0.01f));
    }

    [Theory]
    [InlineData("打开车窗")]
    [InlineData("play some music")]
    [InlineData("")]
    public void Other_text_is_kept_even_on_quiet_audio(string text)
    {
        Assert.Null(_filter.ShouldDrop(text, levelDbfs: -60, noSpeechProbability: 0.9f));
    }

    [Fact]
    public void Level_is_rms_in_dbfs()
    {
        Assert.Equal(-120, HallucinationFilter.LevelDbfs(new float[160]));
        Assert.Equal(-6.02, HallucinationFilter.LevelDbfs(Enumerable.Repeat(0.5f, 160).ToArray()), 2);
    }

    [Theory]
    [InlineData("  打开车窗 ", "打开车窗")]
    [InlineData("[BLANK_AUDIO]", "")]
    [InlineData("(music) play music", "play music")]
    [InlineData("【音乐】打开空调", "打开空调")]
    public void Non_speech_annotations_are_removed_from_the_text(string raw, string clean)
    {
        Assert.Equal(clean, WhisperRecognizer.CleanText(raw));
    }
}
