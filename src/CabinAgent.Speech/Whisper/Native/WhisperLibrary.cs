using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CabinAgent.Speech.Whisper.Native;

/// <summary>
/// Finds libwhisper.so for this assembly's P/Invokes, in order:
/// <list type="number">
/// <item><c>CABIN_WHISPER_LIB</c>: a full path (a CUDA build, a Jetson build, Whisper.net's copy).</item>
/// <item><c>libwhisper.so</c> next to the assembly (the build copies it there from the cache).</item>
/// <item>The native cache, <c>$CABIN_CACHE_DIR/whisper/1.9.1-*/libwhisper.so</c> (newest build).</item>
/// </list>
/// Only our own library is loaded by path: the LLM tier's llama.cpp brings its own ggml, and our
/// libwhisper.so exports nothing but whisper_*, so the two never bind to each other.
/// </summary>
public static partial class WhisperLibrary
{
    public const string EnvironmentVariable = "CABIN_WHISPER_LIB";
    public const string Version = "1.9.1";
    private const string FileName = "libwhisper.so";

    private static string? _loadedFrom;

    /// <summary>Where the library was loaded from, once a whisper function has been called.</summary>
    public static string? LoadedFrom => _loadedFrom;

#pragma warning disable CA2255 // a module initializer is the one place that runs before any P/Invoke of this assembly
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(WhisperLibrary).Assembly, Resolve);

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != WhisperNative.Library) return IntPtr.Zero;
        PrepareOpenMp();
        foreach (var candidate in Candidates())
        {
            if (!File.Exists(candidate)) continue;
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                _loadedFrom = candidate;
                return handle;
            }
        }
        return IntPtr.Zero; // the runtime then throws DllNotFoundException naming "whisper"
    }

    /// <summary>
    /// libwhisper.so runs its worker threads on OpenMP (libgomp). libgomp's default is to spin a
    /// long time at each barrier; with other work on the CPU (the LLM decoding, parallel builds on
    /// CI) spinning threads take the time slices the working ones need, and a 2-thread run measured
    /// 3-6x slower than with passive waiting. libgomp reads its settings once, when it is loaded, so
    /// they are put in the native environment here, before the library is loaded, unless the
    /// operator set OMP_WAIT_POLICY or GOMP_SPINCOUNT already. (.NET's Environment.SetEnvironmentVariable
    /// does not reach native getenv on Unix, hence libc's setenv.)
    /// </summary>
    private static void PrepareOpenMp()
    {
        if (OperatingSystem.IsWindows()) return;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        if (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null) return;
        setenv("OMP_WAIT_POLICY", "passive", 0);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    /// <summary>The paths tried, in order (for error messages and `cabin-agent` diagnostics).</summary>
    public static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            // An explicit override is final: falling back silently would hide a wrong path.
            yield return env;
            yield break;
        }
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        var assemblyDir = Path.GetDirectoryName(typeof(WhisperLibrary).Assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDir)) yield return Path.Combine(assemblyDir, FileName);
        var cache = Path.Combine(CacheRoot(), "whisper");
        if (Directory.Exists(cache))
            foreach (var dir in Directory.GetDirectories(cache, Version + "-*")
                         .Where(d => File.Exists(Path.Combine(d, ".built")))
                         .OrderByDescending(Directory.GetLastWriteTimeUtc))
                yield return Path.Combine(dir, FileName);
    }

    /// <summary>The cache root, as Directory.Build.props defines it for the build.</summary>
    public static string CacheRoot()
    {
        var explicitDir = Environment.GetEnvironmentVariable("CABIN_CACHE_DIR");
        if (!string.IsNullOrWhiteSpace(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg)) return Path.Combine(xdg, "cabin-agent");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "cabin-agent");
    }

    /// <summary>whisper.cpp's version string, loading the library if needed.</summary>
    public static unsafe string NativeVersion() => WhisperNative.Utf8(WhisperNative.whisper_version()) ?? "?";

    /// <summary>ggml's CPU feature line ("AVX = 1 | AVX2 = 1 | ..."), for bench output and diagnostics.</summary>
    public static unsafe string SystemInfo() => (WhisperNative.Utf8(WhisperNative.whisper_print_system_info()) ?? "").Trim();
}
