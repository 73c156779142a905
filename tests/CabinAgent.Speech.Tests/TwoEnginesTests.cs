using System.Runtime.InteropServices;
using CabinAgent.Speech.Whisper.Native;

namespace CabinAgent.Speech.Tests;

/// <summary>
/// Runs when llama.cpp's libraries are in the native cache (CabinAgent.Llm's build puts them
/// there) or CABIN_LLAMA_LIB names libllama; skipped with that reason otherwise.
/// </summary>
public sealed class LlamaLibraryFactAttribute : FactAttribute
{
    public LlamaLibraryFactAttribute()
    {
        if (Find() is null)
            Skip = "needs llama.cpp's libllama in $CABIN_CACHE_DIR/llama/*/lib (built by CabinAgent.Llm) or CABIN_LLAMA_LIB";
    }

    public static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("CABIN_LLAMA_LIB");
        if (!string.IsNullOrWhiteSpace(env)) return File.Exists(env) ? env : null;
        var root = Path.Combine(WhisperLibrary.CacheRoot(), "llama");
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root)
            .SelectMany(version => Directory.Exists(Path.Combine(version, "lib"))
                ? Directory.GetFiles(Path.Combine(version, "lib"), "libllama*.so*")
                : [])
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
    }
}

/// <summary>
/// whisper.cpp (ggml linked statically, only whisper_* exported) and llama.cpp (its own, newer ggml
/// with an unversioned libggml-base.so) in one process, both used. The CabinAgent.Llm project is not
/// on main yet, so llama.cpp is reached through a minimal binding of its C API here.
/// </summary>
[Trait("Category", "Native")]
public class TwoEnginesTests(WhisperTestModelFixture fixture) : IClassFixture<WhisperTestModelFixture>
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void LlamaBackendInit();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr LlamaPrintSystemInfo();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void GgmlBackendLoadAllFromPath([MarshalAs(UnmanagedType.LPUTF8Str)] string directory);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nuint GgmlBackendDevCount();

    [LlamaLibraryFact]
    public async Task Whisper_and_llama_cpp_run_side_by_side_in_one_process()
    {
        var speech = TestAudio.Clip("en", "play some music").Samples;
        var before = await fixture.Recognizer.TranscribeAsync(speech);

        var llamaPath = LlamaLibraryFactAttribute.Find()!;
        var llama = NativeLibrary.Load(llamaPath);
        var ggml = NativeLibrary.Load(Path.Combine(Path.GetDirectoryName(llamaPath)!, Directory
            .GetFiles(Path.GetDirectoryName(llamaPath)!, "libggml.*so*").Select(Path.GetFileName).First()!));
        // llama.cpp's CPU backend comes as per-CPU variants loaded at run time from its lib directory.
        Marshal.GetDelegateForFunctionPointer<GgmlBackendLoadAllFromPath>(NativeLibrary.GetExport(ggml, "ggml_backend_load_all_from_path"))(Path.GetDirectoryName(llamaPath)!);
        Marshal.GetDelegateForFunctionPointer<LlamaBackendInit>(NativeLibrary.GetExport(llama, "llama_backend_init"))();
        var info = Marshal.PtrToStringUTF8(Marshal.GetDelegateForFunctionPointer<LlamaPrintSystemInfo>(NativeLibrary.GetExport(llama, "llama_print_system_info"))())!;
        var devices = Marshal.GetDelegateForFunctionPointer<GgmlBackendDevCount>(NativeLibrary.GetExport(ggml, "ggml_backend_dev_count"))();

        Assert.Contains("CPU", info);
        Assert.True(devices >= 1, $"llama.cpp's ggml found {devices} devices");

        // Both ggml copies are mapped now; whisper still runs, and gives the same (greedy, deterministic) output.
        var maps = await File.ReadAllTextAsync("/proc/self/maps");
        Assert.Contains("libggml-base.so", maps);
        Assert.Contains(WhisperLibrary.LoadedFrom!, maps);
        var after = await fixture.Recognizer.TranscribeAsync(speech);
        Assert.Equal(before.Text, after.Text);
        Assert.Equal(before.Language, after.Language);

        // Our library exports no ggml symbol that llama.cpp's could bind to (or the reverse).
        Assert.False(NativeLibrary.TryGetExport(NativeLibrary.Load(WhisperLibrary.LoadedFrom!), "ggml_init", out _));
    }
}
