namespace CabinAgent.Llm.Tests;

public sealed class LlmOptionsTests
{
    [Fact]
    public void Defaults_are_greedy_with_a_three_second_deadline()
    {
        var o = new LlmOptions();
        Assert.Equal(0f, o.Temperature);
        Assert.Equal(3000, o.DecodeDeadlineMs);
        Assert.Contains("Llm:ModelPath is required", o.Validate());
    }

    [Fact]
    public void Every_bad_value_is_named()
    {
        var o = new LlmOptions
        {
            ModelPath = "/does/not/exist.gguf", ContextLength = 10, Threads = -1, MaxOutputTokens = 2, DecodeDeadlineMs = 0,
            ConfidenceFloor = 1.5, Temperature = -1, TopP = 0, MaxUtteranceChars = 0, NativeLibraryPath = "/does/not/libllama.so",
        };
        var errors = o.Validate();
        foreach (var key in new[] { "ModelPath", "ContextLength", "Threads", "MaxOutputTokens", "DecodeDeadlineMs", "ConfidenceFloor", "Temperature", "TopP", "MaxUtteranceChars", "NativeLibraryPath" })
            Assert.Contains(errors, e => e.StartsWith("Llm:" + key, StringComparison.Ordinal));
        Assert.False(new LlmOptionsValidator().Validate(null, o).Succeeded);
    }

    [Fact]
    public void A_custom_libllama_cannot_replace_the_one_already_loaded()
    {
        Native.LlamaLibrary.EnsureInitialized();
        var loaded = Native.LlamaLibrary.Loaded.LibraryPath;
        Native.LlamaLibrary.UseLibrary(loaded); // the same file: nothing to change
        Native.LlamaLibrary.UseLibrary(null);   // no choice: keeps the loaded one
        var ex = Assert.Throws<Native.LlamaException>(() => Native.LlamaLibrary.UseLibrary("/opt/jetson/libllama.so"));
        Assert.Equal($"llama.cpp is already loaded from {loaded}; Llm:NativeLibraryPath '/opt/jetson/libllama.so' can only be chosen " +
                     "before the first model loads (one llama.cpp per process)", ex.Message);
        Assert.Equal(loaded, Native.LlamaLibrary.Loaded.LibraryPath);
    }

    [Fact]
    public void The_engine_is_the_backend_packages_build_for_this_machine()
    {
        Native.LlamaLibrary.EnsureInitialized();
        var loaded = Native.LlamaLibrary.Loaded;
        Assert.Equal("libllama.so", Path.GetFileName(loaded.LibraryPath));
        var rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;
        Assert.StartsWith(Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native"), loaded.LibraryPath);
        Assert.Equal($"LLamaSharp 0.30.0 (llama.cpp c0c7e14, {loaded.Variant})", Native.LlamaLibrary.Version);
        Assert.Contains(loaded.Variant, new[] { "noavx", "avx", "avx2", "avx512", "arm64" });
        Assert.Contains("CPU :", Native.LlamaLibrary.SystemInfo);
    }
}
