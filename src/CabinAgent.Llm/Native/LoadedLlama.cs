using System.Globalization;
using System.Runtime.InteropServices;
using LLama.Native;
using LlamaSharpApi = LLama.Native.NativeApi;

namespace CabinAgent.Llm.Native;

/// <summary>
/// The libllama LLamaSharp loaded for this process, and how it was chosen: start-up logs, <c>/healthz</c> and
/// benchmark reports name it, and <see cref="LlamaLibrary"/> binds our own imports to its handle. Loading goes
/// through LLamaSharp (its CPU-feature selection over the backend package's builds, or the one file configured),
/// and every way that can fail becomes a <see cref="LlamaException"/> that says what to install or change:
/// a bad native must stop the model tier with a reason, never crash the agent (the deterministic tier and the
/// safety layer do not need it).
/// </summary>
public sealed record LoadedLlama(string LibraryPath, IntPtr Handle, string Variant)
{
    /// <summary>The folder of <see cref="LibraryPath"/>, where its ggml libraries are too.</summary>
    public string Directory => Path.GetDirectoryName(LibraryPath)!;

    internal const string PackageHint =
        "restore brings it with LLamaSharp.Backend.Cpu (build with -p:CabinLlmBackend=Cpu, the default) or " +
        "LLamaSharp.Backend.Cuda12 (-p:CabinLlmBackend=Cuda12, needs an NVIDIA driver); a custom build is named by Llm:NativeLibraryPath";

    internal static LoadedLlama Load(string? customPath)
    {
        if (customPath is not null) CheckCustomLibrary(customPath);
        try
        {
            if (customPath is not null) NativeLibraryConfig.LLama.WithLibrary(customPath);
            LlamaSharpApi.llama_empty_call();
        }
        catch (Exception ex) when (ex is not LlamaException)
        {
            var reason = ex.GetBaseException().Message.Trim();
            throw new LlamaException(customPath is null
                ? $"no llama.cpp native library could be loaded for {RuntimeInformation.RuntimeIdentifier}: {reason}; {PackageHint}"
                : $"Llm:NativeLibraryPath '{customPath}' could not be loaded: {reason}; fix or clear the setting ({PackageHint})");
        }

        // LLamaSharp's resolver for its own imports hands back the library it loaded.
        var handle = NativeLibrary.Load("llama", typeof(LlamaSharpApi).Assembly, null);
        var path = MappedFile(handle, "llama_print_system_info")
                   ?? throw new LlamaException("llama.cpp is loaded but its file could not be found in /proc/self/maps");
        return new LoadedLlama(path, handle, Describe(LlamaSharpApi.GetLoadedNativeLibrary(NativeLibraryName.LLama), customPath));
    }

    private static string Describe(LLama.Abstractions.INativeLibrary? library, string? customPath)
    {
        if (customPath is not null) return "custom";
        var metadata = library?.Metadata;
        if (metadata is null) return "unknown";
        if (metadata.UseCuda) return "cuda";
        if (metadata.UseVulkan) return "vulkan";
        return RuntimeInformation.ProcessArchitecture == Architecture.Arm64
            ? "arm64"
            : metadata.AvxLevel.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// A custom file is checked before anything loads it: a missing file or one built for another architecture gets
    /// its own message (the loader's own for the latter is a bare "wrong ELF class" or "cannot open").
    /// </summary>
    private static void CheckCustomLibrary(string path)
    {
        if (!File.Exists(path))
            throw new LlamaException($"Llm:NativeLibraryPath '{path}' does not exist; point it at a libllama.so or clear it to use the backend package ({PackageHint})");
        Span<byte> header = stackalloc byte[20];
        using (var file = File.OpenRead(path))
            header = header[..file.Read(header)];
        if (header.Length < 20 || header[0] != 0x7F || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
            throw new LlamaException($"Llm:NativeLibraryPath '{path}' is not a shared library (no ELF header)");
        var machine = (ushort)(header[18] | header[19] << 8);
        var (expected, name) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => ((ushort)0x3E, "x86-64"),
            Architecture.Arm64 => ((ushort)0xB7, "arm64"),
            var other => ((ushort)0, other.ToString()),
        };
        if (expected != 0 && machine != expected)
            throw new LlamaException(
                $"Llm:NativeLibraryPath '{path}' is built for {ElfMachineName(machine)}, this process is {name}; use a {name} build of llama.cpp {LlamaLibrary.LlamaCppCommit[..7]}");
    }

    private static string ElfMachineName(ushort machine) => machine switch
    {
        0x3E => "x86-64",
        0xB7 => "arm64",
        0x28 => "arm (32-bit)",
        0x03 => "x86 (32-bit)",
        _ => $"ELF machine 0x{machine:x}",
    };

    /// <summary>The file a loaded library's export lives in (LLamaSharp does not say which of its builds it took).</summary>
    private static string? MappedFile(IntPtr handle, string export)
    {
        if (!NativeLibrary.TryGetExport(handle, export, out var address) || !File.Exists("/proc/self/maps")) return null;
        var target = (ulong)address;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // "7f2a1c000000-7f2a1c021000 r-xp 00000000 08:01 1234  /path/libllama.so"
            var dash = line.IndexOf('-');
            var space = line.IndexOf(' ');
            if (dash < 0 || space < dash) continue;
            var start = ulong.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var end = ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (target < start || target >= end) continue;
            var slash = line.IndexOf('/');
            return slash < 0 ? null : line[slash..].Trim();
        }
        return null;
    }
}
