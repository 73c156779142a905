using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace CabinAgent.Llm.Native;

/// <summary>
/// Finds and initialises the native llama.cpp engine once per process: resolves the library names
/// used by <see cref="NativeApi"/> to the pinned files, loads the per-CPU ggml backends (the CPU
/// backend is a module loaded at run time, so no model can load before this), and routes llama.cpp's
/// log lines to a sink instead of stderr.
/// </summary>
public static unsafe class LlamaLibrary
{
    /// <summary>Overrides where the native libraries are looked for.</summary>
    public const string LibDirEnvironmentVariable = "CABIN_LLAMA_LIB_DIR";

    /// <summary>node-llama-cpp package version the natives come from (also the cache key).</summary>
    public const string PackageVersion = "3.22.1";

    private static readonly Lock InitLock = new();
    private static string? _directory;
    private static volatile Action<LlamaLogLevel, string>? _logSink;

    /// <summary>The directory the libraries were loaded from (after <see cref="EnsureInitialized"/>).</summary>
    public static string Directory => _directory ?? throw new InvalidOperationException("llama.cpp is not initialised");

    /// <summary>Where llama.cpp's own log lines go (warnings and errors only); null drops them.</summary>
    public static void SetLogSink(Action<LlamaLogLevel, string>? sink) => _logSink = sink;

    /// <summary>Loads the libraries and backends. Idempotent, thread-safe; throws <see cref="LlamaException"/> when the engine is missing.</summary>
    public static void EnsureInitialized()
    {
        if (_directory is not null) return;
        lock (InitLock)
        {
            if (_directory is not null) return;
            var dir = FindLibraryDirectory()
                ?? throw new LlamaException(
                    $"llama.cpp libraries not found (looked in ${LibDirEnvironmentVariable}, {Path.Combine(AppContext.BaseDirectory, "llama")} " +
                    $"and the cache); build src/CabinAgent.Llm or run scripts/natives/fetch-llama.sh");
            NativeLibrary.SetDllImportResolver(typeof(LlamaLibrary).Assembly, (name, _, _) => Resolve(dir, name));
            _directory = dir;

            NativeApi.llama_log_set(&OnLog, null);
            var dirBytes = Utf8.NulTerminated(dir);
            fixed (byte* p = dirBytes)
                NativeApi.ggml_backend_load_all_from_path(p);
            if (NativeApi.ggml_backend_dev_count() == 0)
                throw new LlamaException($"no ggml backend could be loaded from {dir} (missing libggml-cpu-*.so?)");
            NativeApi.llama_backend_init();
        }
    }

    /// <summary>The engine's build string, e.g. <c>8100 (de3ff81)</c> (call after init).</summary>
    public static string Version
    {
        get { EnsureInitialized(); return Utf8.FromNative(NativeApi.llama_version()); }
    }

    public static string SystemInfo
    {
        get { EnsureInitialized(); return Utf8.FromNative(NativeApi.llama_print_system_info()); }
    }

    private static string? FindLibraryDirectory()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(LibDirEnvironmentVariable) is { Length: > 0 } env)
            candidates.Add(env);
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "llama"));
        var asmDir = Path.GetDirectoryName(typeof(LlamaLibrary).Assembly.Location);
        if (!string.IsNullOrEmpty(asmDir)) candidates.Add(Path.Combine(asmDir, "llama"));
        candidates.Add(Path.Combine(CabinCache.Root, "llama", PackageVersion, "lib"));
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "libllama.v0.5.0.so")) || File.Exists(Path.Combine(d, "libllama.so")));
    }

    // node-llama-cpp's prebuilt names carry the release (libllama.v0.5.0.so); a plain CMake build of
    // the same source (the Jetson CUDA build, see docs/llm.md) produces libllama.so. Either is accepted.
    private static IntPtr Resolve(string dir, string name)
    {
        string[] files = name switch
        {
            NativeApi.LlamaLib => ["libllama.v0.5.0.so", "libllama.so"],
            NativeApi.GgmlLib => ["libggml.v0.5.0.so", "libggml.so"],
            NativeApi.GgmlBaseLib => ["libggml-base.so"],
            _ => [],
        };
        foreach (var file in files)
        {
            var path = Path.Combine(dir, file);
            if (File.Exists(path)) return NativeLibrary.Load(path);
        }
        return IntPtr.Zero;
    }

    // llama.cpp emits lines in pieces (CONT continues the previous level); info/debug are dropped.
    private static LlamaLogLevel _lastLevel = LlamaLogLevel.Info;

    // The last error line llama.cpp logged on this thread: loaders report failure as a null pointer
    // and put the reason only in the log, so callers take it from here for their exception.
    [ThreadStatic] private static string? _lastError;

    /// <summary>Returns and forgets the last error line llama.cpp logged on the calling thread.</summary>
    internal static string? TakeLastError()
    {
        var error = _lastError;
        _lastError = null;
        return error;
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static void OnLog(int level, byte* text, void* userData)
    {
        var lvl = level == 5 ? _lastLevel : (LlamaLogLevel)level;
        _lastLevel = lvl;
        if (lvl < LlamaLogLevel.Warn || text is null) return;
        try
        {
            var line = Utf8.FromNative(text).TrimEnd('\n');
            if (line.Length == 0) return;
            if (lvl == LlamaLogLevel.Error) _lastError = line;
            _logSink?.Invoke(lvl, line);
        }
        catch
        {
            // Never let an exception cross back into native code.
        }
    }
}

public enum LlamaLogLevel { None = 0, Debug = 1, Info = 2, Warn = 3, Error = 4 }

public sealed class LlamaException(string message) : Exception(message);

/// <summary>The shared cache directory (same rule as Directory.Build.props' CabinCacheDir).</summary>
public static class CabinCache
{
    public static string Root
    {
        get
        {
            if (Environment.GetEnvironmentVariable("CABIN_CACHE_DIR") is { Length: > 0 } dir) return dir;
            if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "cabin-agent");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "cabin-agent");
        }
    }

    /// <summary>The llama.cpp release files (headers, tokenizer vocab) fetched alongside the libraries.</summary>
    public static string LlamaRoot => Path.Combine(Root, "llama", LlamaLibrary.PackageVersion);
}

internal static unsafe class Utf8
{
    public static byte[] NulTerminated(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    public static string FromNative(byte* p) =>
        p is null ? "" : Marshal.PtrToStringUTF8((IntPtr)p) ?? "";

    /// <summary>
    /// A GGUF metadata value through one of llama.cpp's <c>*_meta_val_str</c> getters (model, adapter): they write
    /// into the buffer, return the value's full length, or -1 when the key is absent. Long values are read again
    /// into a buffer of that length. Null when absent.
    /// </summary>
    public static string? MetaValue(delegate*<IntPtr, byte*, byte*, nuint, int> getter, IntPtr owner, string key)
    {
        var keyBytes = NulTerminated(key);
        var buf = stackalloc byte[512];
        int n;
        fixed (byte* k = keyBytes)
            n = getter(owner, k, buf, 512);
        if (n < 0) return null;
        if (n < 512) return Encoding.UTF8.GetString(buf, n);
        var big = new byte[n + 1];
        fixed (byte* k = keyBytes)
        fixed (byte* b = big)
            n = getter(owner, k, b, (nuint)big.Length);
        return Encoding.UTF8.GetString(big, 0, n);
    }
}
