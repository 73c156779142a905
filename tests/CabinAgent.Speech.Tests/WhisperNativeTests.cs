using System.Diagnostics;
using System.Runtime.InteropServices;
using CabinAgent.Speech.Whisper;
using CabinAgent.Speech.Whisper.Native;

namespace CabinAgent.Speech.Tests;

[Trait("Category", "Native")]
public class WhisperNativeTests
{
    [Fact]
    public void Struct_mirrors_match_the_C_layout_of_whisper_h_1_9_1()
    {
        // Sizes and offsets printed by a C program compiled against whisper.cpp 1.9.1's whisper.h (x86-64).
        Assert.Equal(48, Marshal.SizeOf<WhisperContextParams>());
        Assert.Equal(304, Marshal.SizeOf<WhisperFullParams>());
        Assert.Equal(104, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.Language)));
        Assert.Equal(144, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.GreedyBestOf)));
        Assert.Equal(208, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.AbortCallback)));
        Assert.Equal(264, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.GrammarPenalty)));
        Assert.Equal(268, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.Vad)));
        Assert.Equal(280, (int)Marshal.OffsetOf<WhisperFullParams>(nameof(WhisperFullParams.VadParams)));
    }

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
    public void The_library_is_whisper_1_9_1_and_exports_only_whisper_symbols()
    {
        Assert.Equal("1.9.1", WhisperLibrary.NativeVersion());
        var path = WhisperLibrary.LoadedFrom;
        Assert.NotNull(path);

        var start = new ProcessStartInfo("nm", ["-D", "--defined-only", path]) { RedirectStandardOutput = true };
        using var nm = Process.Start(start)!;
        var symbols = nm.StandardOutput.ReadToEnd()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last())
            .ToList();
        nm.WaitForExit();

        Assert.Equal(0, nm.ExitCode);
        Assert.Contains("whisper_full", symbols);
        Assert.Contains("whisper_init_from_file_with_params", symbols);
        Assert.DoesNotContain(symbols, s => !s.StartsWith("whisper_", StringComparison.Ordinal));
    }

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr NativeGetenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [Fact]
    public void OpenMP_threads_wait_passively_unless_the_operator_chose_otherwise()
    {
        Assert.Equal("1.9.1", WhisperLibrary.NativeVersion()); // loads the library
        var expected = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY")
                       ?? (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is null ? "passive" : null);
        Assert.Equal(expected, Marshal.PtrToStringUTF8(NativeGetenv("OMP_WAIT_POLICY")));
    }

    [Fact]
    public void The_cpu_build_is_portable_avx2_without_avx512()
    {
        var info = WhisperLibrary.SystemInfo();
        // ggml lists only the features compiled in: AVX2 baseline, nothing the build machine had beyond it.
        Assert.Contains("AVX2 = 1", info);
        Assert.Contains("FMA = 1", info);
        Assert.DoesNotContain("AVX512", info);
        Assert.DoesNotContain("CUDA", info);
    }
}
