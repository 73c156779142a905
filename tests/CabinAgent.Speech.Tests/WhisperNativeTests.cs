using System.Diagnostics;
using System.Runtime.InteropServices;
using CabinAgent.Speech.Whisper;
using CabinAgent.Speech.Whisper.Native;

namespace CabinAgent.Speech.Tests;

[Trait("Category", "Native")]
public class WhisperNativeTests
{
    /// <summary>
    /// Our mirrors go to the library Whisper.net loaded, so they must lay out as Whisper.net's own declarations of
    /// the same structs for that library (which nest the greedy/beam/aheads groups we keep flat): the same size and
    /// the same field offsets in order, once nested structs are flattened.
    /// </summary>
    [Theory]
    [InlineData(typeof(WhisperContextParams), "Whisper.net.Native.WhisperContextParams")]
    [InlineData(typeof(WhisperFullParams), "Whisper.net.Native.WhisperFullParams")]
    [InlineData(typeof(WhisperVadParams), "Whisper.net.Native.WhisperVadParams")]
    public void Struct_mirrors_match_Whisper_nets_declarations(Type ours, string theirName)
    {
        var theirs = typeof(global::Whisper.net.WhisperFactory).Assembly.GetType(theirName, throwOnError: true)!;
        Assert.Equal(Marshal.SizeOf(theirs), Marshal.SizeOf(ours));
        Assert.Equal(FlatOffsets(theirs), FlatOffsets(ours));
    }

    private static List<int> FlatOffsets(Type type, int origin = 0) =>
        type.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
            .OrderBy(f => f.MetadataToken)
            .SelectMany(f =>
            {
                var offset = origin + (int)Marshal.OffsetOf(type, f.Name);
                return f.FieldType is { IsValueType: true, IsPrimitive: false, IsEnum: false } nested && nested != typeof(IntPtr) && nested != typeof(UIntPtr)
                       && nested.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic).Length > 1
                    ? FlatOffsets(nested, offset)
                    : [offset];
            })
            .ToList();

    [Fact]
    public unsafe void The_library_defaults_land_in_the_mirrored_fields()
    {
        var p = WhisperNative.whisper_full_default_params_by_ref(WhisperNative.SamplingGreedy);
        try
        {
            Assert.Equal(16384, p->NMaxTextCtx);
            Assert.Equal(1, p->NoContext);
            Assert.Equal(1, p->PrintProgress);
            Assert.Equal("en", Marshal.PtrToStringUTF8(p->Language));
            Assert.Equal(1, p->SuppressBlank);
            Assert.Equal(0.2f, p->TemperatureInc);
            Assert.Equal(2.4f, p->EntropyThold);
            Assert.Equal(-1.0f, p->LogprobThold);
            Assert.Equal(0.6f, p->NoSpeechThold);
            Assert.Equal(5, p->GreedyBestOf);
            Assert.Equal(-1, p->BeamSize);
            Assert.Equal(100f, p->GrammarPenalty);
            Assert.Equal(0.5f, p->VadParams.Threshold);
            Assert.Equal(250, p->VadParams.MinSpeechDurationMs);
            Assert.Equal(30, p->VadParams.SpeechPadMs);
        }
        finally
        {
            WhisperNative.whisper_free_params(p);
        }
    }

    [Fact]
    public void The_library_is_the_Whisper_net_runtime_packages_and_exports_no_ggml()
    {
        Assert.Equal("1.8.5", WhisperLibrary.NativeVersion()); // the whisper.cpp inside Whisper.net.Runtime 1.9.1
        Assert.Equal("Cpu", WhisperLibrary.Runtime);
        var path = WhisperLibrary.LoadedFrom;
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "libwhisper.so"), path);

        var start = new ProcessStartInfo("nm", ["-D", "--defined-only", path!]) { RedirectStandardOutput = true };
        using var nm = Process.Start(start)!;
        var symbols = nm.StandardOutput.ReadToEnd()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last())
            .ToList();
        nm.WaitForExit();

        Assert.Equal(0, nm.ExitCode);
        Assert.Contains("whisper_full", symbols);
        Assert.Contains("whisper_init_from_file_with_params", symbols);
        // ggml lives in the package's libggml-*-whisper.so files, so nothing here can bind the LLM tier's ggml.
        Assert.DoesNotContain(symbols, s => s.StartsWith("ggml_", StringComparison.Ordinal) || s.StartsWith("gguf_", StringComparison.Ordinal));
    }

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr NativeGetenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [Fact]
    public void OpenMP_threads_wait_passively_unless_the_operator_chose_otherwise()
    {
        Assert.Equal("1.8.5", WhisperLibrary.NativeVersion()); // loads the library
        var expected = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY")
                       ?? (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is null ? "passive" : null);
        Assert.Equal(expected, Marshal.PtrToStringUTF8(NativeGetenv("OMP_WAIT_POLICY")));
    }

    [Fact]
    public void The_cpu_build_is_portable_avx2_without_avx512()
    {
        var info = WhisperLibrary.SystemInfo();
        // ggml lists only the features compiled in: Whisper.net.Runtime's x64 build is an AVX2 baseline, no AVX-512.
        Assert.Contains("AVX2 = 1", info);
        Assert.Contains("FMA = 1", info);
        Assert.DoesNotContain("AVX512", info);
        Assert.DoesNotContain("CUDA", info);
    }
}
