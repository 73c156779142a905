using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Whisper.net;
using Whisper.net.LibraryLoader;

namespace CabinAgent.Speech.Whisper.Native;

/// <summary>
/// Binds this assembly's whisper imports to the libwhisper that Whisper.net loaded: Whisper.net's loader picks the
/// runtime restore brought (Whisper.net.Runtime on the CPU, Whisper.net.Runtime.Cuda on GPU boxes) or the one file
/// named by <c>CABIN_WHISPER_LIB</c> (a Jetson build), and loads its ggml, renamed <c>*-whisper</c> in those
/// packages so that it never meets the LLM tier's ggml. Our imports then use that same library, not a second copy.
/// </summary>
public static partial class WhisperLibrary
{
    /// <summary>A custom libwhisper.so (handed to Whisper.net's <c>RuntimeOptions.LibraryPath</c>).</summary>
    public const string EnvironmentVariable = "CABIN_WHISPER_LIB";

    /// <summary>The Whisper.net release (and its runtime packages) the natives come from.</summary>
    public const string PackageVersion = "1.9.1";

    private const string FileName = "libwhisper.so";

    private static string? _loadedFrom;
    private static string? _loadError;

    /// <summary>Where the library was loaded from, once a whisper function has been called.</summary>
    public static string? LoadedFrom => _loadedFrom;

    /// <summary>Which Whisper.net runtime loaded (Cpu, Cuda, …), once a whisper function has been called.</summary>
    public static string? Runtime { get; private set; }

    /// <summary>Why the library could not be loaded (after a failed load), with what to install or set.</summary>
    public static string LoadError => _loadError ?? "libwhisper.so was not loaded";

#pragma warning disable CA2255 // a module initializer is the one place that runs before any P/Invoke of this assembly
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(WhisperLibrary).Assembly, Resolve);

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != WhisperNative.Library) return IntPtr.Zero;
        PrepareOpenMp();
        var custom = Environment.GetEnvironmentVariable(EnvironmentVariable);
        try
        {
            if (!string.IsNullOrWhiteSpace(custom))
            {
                if (!File.Exists(custom))
                {
                    _loadError = $"{EnvironmentVariable}='{custom}' does not exist; unset it to use the Whisper.net runtime package";
                    return IntPtr.Zero;
                }
                RuntimeOptions.LibraryPath = custom;
            }
            WhisperFactory.GetRuntimeInfo(); // Whisper.net loads its native library here
            var path = MappedLibrary(FileName) ?? throw new DllNotFoundException("Whisper.net loaded no libwhisper.so");
            // Whisper.net falls back to its runtime package when the configured file will not load (another
            // architecture, missing dependencies): an operator who named a build must get that build or an error.
            if (!string.IsNullOrWhiteSpace(custom) && path != Path.GetFullPath(custom))
            {
                _loadError = $"{EnvironmentVariable}='{custom}' could not be loaded (built for another architecture, or its " +
                             $"libggml*.so are missing beside it); Whisper.net fell back to {path}, which is not used: fix or unset {EnvironmentVariable}";
                return IntPtr.Zero;
            }
            _loadedFrom = path;
            Runtime = RuntimeOptions.LoadedLibrary?.ToString();
            return NativeLibrary.Load(path); // the same handle: the library is loaded already
        }
        catch (Exception ex)
        {
            _loadError = (string.IsNullOrWhiteSpace(custom)
                ? $"Whisper.net could not load a native runtime for {RuntimeInformation.RuntimeIdentifier}: {ex.GetBaseException().Message.Trim()}; " +
                  "restore brings it with Whisper.net.Runtime (-p:CabinLlmBackend=Cpu, the default; its x64 build needs AVX2) or " +
                  "Whisper.net.Runtime.Cuda (-p:CabinLlmBackend=Cuda12)"
                : $"{EnvironmentVariable}='{custom}' could not be loaded: {ex.GetBaseException().Message.Trim()}") +
                $"; a custom build is named by {EnvironmentVariable}";
            return IntPtr.Zero; // the runtime then throws DllNotFoundException; callers report LoadError
        }
    }

    // Whisper.net does not say which file it loaded; the process's own map does.
    private static string? MappedLibrary(string fileName) =>
        File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..].Trim() : "")
            .FirstOrDefault(path => Path.GetFileName(path) == fileName);

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

    /// <summary>The cache root for generated test models, as Directory.Build.props defines it.</summary>
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
