using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Whisper;

namespace CabinAgent.Speech.Tests;

/// <summary>
/// Real whisper.cpp inference on the generated random-weight model. The model knows nothing, so
/// its text is noise: these tests check that loading, mel, encoder, decoder, options, timing and
/// cancellation work end to end, not what was said (that is <see cref="RealModelTests"/>).
/// </summary>
[Trait("Category", "Native")]
public class WhisperRecognizerTests(WhisperTestModelFixture fixture) : IClassFixture<WhisperTestModelFixture>
{
    [Fact]
    public void The_generated_model_loads_as_a_multilingual_whisper_model()
    {
        Assert.True(fixture.Recognizer.IsMultilingual);
        Assert.Equal(51865, fixture.Recognizer.VocabularySize);
    }

    [Theory]
    [InlineData("en", "play some music")]
    [InlineData("cmn", "打开车窗")]
    public async Task Transcribes_espeak_speech_without_failing(string voice, string text)
    {
        var clip = TestAudio.Clip(voice, text);

        var transcript = await fixture.Recognizer.TranscribeAsync(clip.Samples);

        // Random weights: the words are noise, but the result is a well-formed transcript.
        Assert.NotNull(transcript.Text);
        Assert.Equal(transcript.Text.Trim(), transcript.Text);
        Assert.False(string.IsNullOrEmpty(transcript.Language), "auto mode reports the detected language");
        Assert.True(transcript.Ms > 0);
        Assert.Equal(transcript.Ms / clip.Duration.TotalMilliseconds, transcript.Rtf, 2);
    }

    [Fact]
    public async Task A_fixed_language_is_reported_as_set()
    {
        using var recognizer = WhisperRecognizer.Load(WhisperTestModelFixture.Options(fixture.ModelPath, language: "zh"));
        var transcript = await recognizer.TranscribeAsync(TestAudio.Clip("cmn", "打开车窗").Samples);
        Assert.Equal("zh", transcript.Language);
    }

    [Fact]
    public async Task Very_short_audio_is_padded_not_refused()
    {
        var transcript = await fixture.Recognizer.TranscribeAsync(Signals.Tone(300, 50, 0.2));
        Assert.True(transcript.Ms > 0);
    }

    [Fact]
    public async Task An_already_cancelled_request_throws_without_running()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await fixture.Recognizer.TranscribeAsync(Signals.Silence(1000), cts.Token));
    }

    [Fact]
    public async Task Cancelling_during_recognition_aborts_whisper()
    {
        // The cancel lands at an exact point of the run (whisper's second abort query, after it has
        // computed a graph) instead of racing a timer, which on a loaded machine can fire too late.
        using var recognizer = WhisperRecognizer.Load(WhisperTestModelFixture.Options(fixture.ModelPath, language: "en"));
        var audio = Signals.Noise(5_000, 0.2, seed: 5);

        var uncancelledQueries = 0;
        recognizer.AbortQueried = () => Interlocked.Increment(ref uncancelledQueries);
        await recognizer.TranscribeAsync(audio);

        using var cts = new CancellationTokenSource();
        var cancelledQueries = 0;
        recognizer.AbortQueried = () =>
        {
            if (Interlocked.Increment(ref cancelledQueries) == 2) cts.Cancel();
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await recognizer.TranscribeAsync(audio, cts.Token));

        // whisper stopped at the query that saw the cancel: no graph was computed after it.
        Assert.True(uncancelledQueries > 2, $"an uncancelled run asks {uncancelledQueries} times");
        Assert.Equal(2, cancelledQueries);

        // The recognizer is still usable afterwards.
        recognizer.AbortQueried = null;
        var after = await recognizer.TranscribeAsync(Signals.Tone(440, 500, 0.2));
        Assert.True(after.Ms > 0);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_refused_with_a_clear_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.bin");
        File.WriteAllText(path, "definitely not ggml");
        try
        {
            var error = Assert.Throws<SpeechRecognitionException>(() => WhisperRecognizer.Load(WhisperTestModelFixture.Options(path)));
            Assert.Equal($"whisper.cpp could not load the model '{path}' (see the whisper.cpp log lines for the reason)", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_missing_model_is_refused_at_option_validation()
    {
        var error = Assert.Throws<ArgumentException>(() => WhisperRecognizer.Load(WhisperTestModelFixture.Options("/nonexistent/model.bin")));
        Assert.Equal("Speech:ModelPath '/nonexistent/model.bin' does not exist", error.Message);
    }

    [Fact]
    public void Transcript_serializes_to_exactly_the_replay_asr_object()
    {
        var transcript = new Transcript("打开车窗", "zh", 412.5, 0.2751) { DroppedReason = "x", NoSpeechProbability = 0.1f };
        Assert.Equal("{\"text\":\"打开车窗\",\"language\":\"zh\",\"ms\":412.5,\"rtf\":0.2751}",
            System.Text.Json.JsonSerializer.Serialize(transcript, new System.Text.Json.JsonSerializerOptions
            {
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }));
    }
}
