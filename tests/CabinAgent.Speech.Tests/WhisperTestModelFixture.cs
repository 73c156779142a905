using CabinAgent.Tools.Models;
using CabinAgent.Speech.Whisper;

namespace CabinAgent.Speech.Tests;

/// <summary>One recognizer on the generated random-weight model, shared by a test class.</summary>
public sealed class WhisperTestModelFixture : IDisposable
{
    public WhisperTestModelFixture()
    {
        ModelPath = WhisperTestModel.EnsureCached();
        Recognizer = WhisperRecognizer.Load(Options(ModelPath));
    }

    public static SpeechOptions Options(string modelPath, string language = "auto") => new()
    {
        ModelPath = modelPath,
        Language = language,
        // One thread: ggml's worker threads spin at barriers, and on a shared, oversubscribed CI box
        // two threads measured 20-100x slower than one (see docs/speech.md).
        Threads = 1,
        // No temperature fallback: a random model fails every quality check, and retrying five
        // times hotter would only make the tests slower.
        TemperatureIncrement = 0,
        MaxTokens = 16,
    };

    public string ModelPath { get; }
    public WhisperRecognizer Recognizer { get; }

    public void Dispose() => Recognizer.Dispose();
}
