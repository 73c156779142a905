using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace CabinAgent.Llm.Native;

/// <summary>
/// Loads the native llama.cpp engine once per process through LLamaSharp, which picks the library from the
/// backend package restore brought (LLamaSharp.Backend.Cpu: the best of noavx/avx/avx2/avx512 this CPU runs, or
/// arm64; LLamaSharp.Backend.Cuda12) or takes the one file named by <c>Llm:NativeLibraryPath</c> (a Jetson build).
/// <see cref="NativeApi"/>'s own imports then resolve to that same library, so there is one llama.cpp (and one
/// ggml) in the process: LLamaSharp's types and our decoder share models and contexts. llama.cpp's log lines go
/// to a sink instead of stderr.
/// </summary>
public static unsafe class LlamaLibrary
{
    /// <summary>The LLamaSharp release the natives come from (its backend packages carry the same version).</summary>
    public const string PackageVersion = "0.30.0";

    /// <summary>The llama.cpp commit LLamaSharp 0.30.0 was built from: <see cref="NativeApi"/> mirrors its llama.h.</summary>
    public const string LlamaCppCommit = "c0c7e147e7efa6c5858754b47259ba4880f8a906";

    private static readonly Lock InitLock = new();
    private static LoadedLlama? _loaded;
    private static string? _requestedPath;
    private static volatile Action<LlamaLogLevel, string>? _logSink;

    /// <summary>What was loaded (after <see cref="EnsureInitialized"/>): the file, its directory, the build's CPU/GPU features.</summary>
    public static LoadedLlama Loaded => _loaded ?? throw new InvalidOperationException("llama.cpp is not initialised");

    /// <summary>True once the engine is loaded (health reports ask without loading it).</summary>
    public static bool IsLoaded => _loaded is not null;

    /// <summary>Where llama.cpp's own log lines go (warnings and errors only); null drops them.</summary>
    public static void SetLogSink(Action<LlamaLogLevel, string>? sink) => _logSink = sink;

    /// <summary>
    /// Names a custom libllama (<c>Llm:NativeLibraryPath</c>) instead of the backend package's. Only before the engine
    /// is loaded: the process has one llama.cpp, so asking for a different file afterwards is an error. Null or empty
    /// keeps the package's choice.
    /// </summary>
    public static void UseLibrary(string? path)
    {
        var wanted = string.IsNullOrWhiteSpace(path) ? null : System.IO.Path.GetFullPath(path);
        lock (InitLock)
        {
            if (_loaded is not null)
            {
                if (wanted is not null && wanted != _loaded.LibraryPath)
                    throw new LlamaException($"llama.cpp is already loaded from {_loaded.LibraryPath}; Llm:NativeLibraryPath '{path}' " +
                                             "can only be chosen before the first model loads (one llama.cpp per process)");
                return;
            }
            _requestedPath = wanted;
        }
    }

    /// <summary>
    /// Loads the library. Idempotent, thread-safe; throws <see cref="LlamaException"/> naming the package to install
    /// or the setting to change when no usable native library can be loaded (missing file, another architecture, a
    /// CPU without the features the build needs, a CUDA backend without its driver).
    /// </summary>
    public static void EnsureInitialized()
    {
        if (_loaded is not null) return;
        lock (InitLock)
        {
            if (_loaded is not null) return;
            _loaded = LoadedLlama.Load(_requestedPath);
            NativeLibrary.SetDllImportResolver(typeof(LlamaLibrary).Assembly, (name, _, _) => Resolve(_loaded, name));
            NativeApi.llama_log_set(&OnLog, null);
            if (NativeApi.ggml_backend_dev_count() == 0)
                throw new LlamaException($"no ggml backend registered by {_loaded.LibraryPath} (its libggml-cpu.so is missing?)");
            NativeApi.llama_backend_init();
        }
    }

    /// <summary>
    /// Makes the DllImports of another assembly (the training tool's own bindings) resolve to the library loaded here,
    /// after loading it: a resolver is per assembly, and a second dlopen of another file would put a second llama.cpp
    /// (with its own ggml state) into the process.
    /// </summary>
    public static void BindImportsOf(Assembly assembly)
    {
        EnsureInitialized();
        lock (InitLock)
        {
            if (!BoundAssemblies.Add(assembly)) return;
            NativeLibrary.SetDllImportResolver(assembly, (name, _, _) => Resolve(_loaded!, name));
        }
    }

    private static readonly HashSet<Assembly> BoundAssemblies = [typeof(LlamaLibrary).Assembly];

    /// <summary>The engine, for logs and reports: <c>LLamaSharp 0.30.0 (llama.cpp c0c7e14, avx2)</c>.</summary>
    public static string Version
    {
        get { EnsureInitialized(); return $"LLamaSharp {PackageVersion} (llama.cpp {LlamaCppCommit[..7]}, {_loaded!.Variant})"; }
    }

    public static string SystemInfo
    {
        get { EnsureInitialized(); return Utf8.FromNative(NativeApi.llama_print_system_info()).Trim(); }
    }

    // LLamaSharp loaded libllama by path and ggml beside it as its dependency; asking for the same paths again
    // returns those very handles (dlopen counts references), never a second copy.
    private static IntPtr Resolve(LoadedLlama loaded, string name) => name switch
    {
        NativeApi.LlamaLib => loaded.Handle,
        NativeApi.GgmlLib => NativeLibrary.Load(System.IO.Path.Combine(loaded.Directory, "libggml.so")),
        NativeApi.GgmlBaseLib => NativeLibrary.Load(System.IO.Path.Combine(loaded.Directory, "libggml-base.so")),
        _ => IntPtr.Zero,
    };

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
