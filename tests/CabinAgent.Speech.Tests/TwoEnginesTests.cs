using System.Runtime.InteropServices;
using CabinAgent.Training;
using CabinAgent.Llm.Native;
using CabinAgent.Speech.Whisper.Native;

namespace CabinAgent.Speech.Tests;

/// <summary>
/// whisper.cpp from Whisper.net.Runtime (its ggml in libggml-*-whisper.so) and llama.cpp from LLamaSharp.Backend.Cpu
/// (its own ggml in libggml-base.so) in one process, both doing real inference on their generated test models,
/// interleaved.
/// </summary>
[Trait("Category", "Native")]
public class TwoEnginesTests(WhisperTestModelFixture fixture) : IClassFixture<WhisperTestModelFixture>
{
    [Fact]
    public async Task Whisper_and_llama_cpp_run_side_by_side_in_one_process()
    {
        var speech = TestAudio.Clip("en", "play some music").Samples;
        var before = await fixture.Recognizer.TranscribeAsync(speech);

        LlamaLibrary.EnsureInitialized();
        using var model = LlamaModel.Load(TestModelBuilder.EnsureDefault());
        using var context = model.CreateContext(new LlamaContextOptions { ContextLength = 256, BatchSize = 64, Threads = 1 });
        var prompt = model.Vocab.Tokenize(before.Text.Length > 0 ? before.Text : "play some music", addSpecial: true, parseSpecial: false);
        Assert.Equal(DecodeStatus.Ok, context.Decode(prompt, 0));
        var logits = context.LastLogits.ToArray();
        Assert.Equal(model.Vocab.TokenCount, logits.Length);
        Assert.All(logits, l => Assert.True(float.IsFinite(l)));

        // Both ggml copies are mapped now; whisper still runs and gives the same (greedy, deterministic) output.
        var maps = await File.ReadAllTextAsync("/proc/self/maps");
        Assert.Contains(Path.Combine(LlamaLibrary.Loaded.Directory, "libggml-base.so"), maps);
        Assert.Contains(Path.Combine(Path.GetDirectoryName(WhisperLibrary.LoadedFrom)!, "libggml-base-whisper.so"), maps);
        var after = await fixture.Recognizer.TranscribeAsync(speech);
        Assert.Equal(before.Text, after.Text);
        Assert.Equal(before.Language, after.Language);

        // And llama.cpp after whisper ran again: same prompt, same logits.
        context.ClearMemory();
        Assert.Equal(DecodeStatus.Ok, context.Decode(prompt, 0));
        Assert.Equal(logits, context.LastLogits.ToArray());

        // Each engine resolves ggml to its own copy: the ggml_init whisper's library sees is not llama.cpp's.
        var whisperGgml = NativeLibrary.GetExport(NativeLibrary.Load(WhisperLibrary.LoadedFrom!), "ggml_init");
        var llamaGgml = NativeLibrary.GetExport(NativeLibrary.Load(Path.Combine(LlamaLibrary.Loaded.Directory, "libggml-base.so")), "ggml_init");
        Assert.NotEqual(llamaGgml, whisperGgml);
    }
}
