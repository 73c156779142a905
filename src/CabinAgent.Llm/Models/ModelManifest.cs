using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CabinAgent.Llm.Models;

/// <summary>One model the tier may run (<c>config/models.json</c>).</summary>
public sealed record ModelEntry
{
    public required string Name { get; init; }
    public required string File { get; init; }
    /// <summary>Lower-case hex SHA-256 of the file; null until the file is provisioned and pinned.</summary>
    public string? Sha256 { get; init; }
    public long? SizeBytes { get; init; }
    /// <summary>Smallest device RAM this model is meant for.</summary>
    public int MinRamMb { get; init; }
    /// <summary><c>production</c> or <c>test</c> (the generated model; never selected).</summary>
    public string Role { get; init; } = "production";
}

/// <summary>What checking a file against its manifest entry found.</summary>
public sealed record ModelVerification(bool Ok, string Sha256, long SizeBytes, string Message);

/// <summary>
/// The models manifest and the selection rule: among production entries whose file is present,
/// the one with the highest <c>min_ram_mb</c> not above the device's RAM (a 0.5B-1.5B model on boxes
/// under 8 GB, larger ones above).
/// </summary>
public sealed class ModelManifest
{
    private ModelManifest(IReadOnlyList<ModelEntry> models) => Models = models;

    public IReadOnlyList<ModelEntry> Models { get; }

    public static ModelManifest Load(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"models manifest not found: {path}", path);
        ManifestFile? file;
        try
        {
            file = JsonSerializer.Deserialize(System.IO.File.ReadAllText(path), ManifestJsonContext.Default.ManifestFile);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: invalid JSON: {ex.Message}", ex);
        }
        if (file?.Models is not { Count: > 0 } models) throw new InvalidDataException($"{path}: no models");
        foreach (var m in models)
        {
            if (string.IsNullOrWhiteSpace(m.Name) || string.IsNullOrWhiteSpace(m.File))
                throw new InvalidDataException($"{path}: every model needs a name and a file");
            if (m.Sha256 is { } sha && (sha.Length != 64 || !sha.All(Uri.IsHexDigit)))
                throw new InvalidDataException($"{path}: model {m.Name}: sha256 must be 64 hex digits");
            if (m.Role is not ("production" or "test"))
                throw new InvalidDataException($"{path}: model {m.Name}: role must be production or test");
        }
        return new ModelManifest(models);
    }

    /// <summary>Applies the selection rule; null when no production model fits and is present.</summary>
    public ModelEntry? Select(long deviceRamBytes, string modelsDirectory) =>
        Models.Where(m => m.Role == "production" && (long)m.MinRamMb * 1024 * 1024 <= deviceRamBytes)
              .Where(m => System.IO.File.Exists(Path.Combine(modelsDirectory, m.File)))
              .OrderByDescending(m => m.MinRamMb)
              .FirstOrDefault();

    /// <summary>The entry naming this file (by file name), if any.</summary>
    public ModelEntry? FindByFile(string path) =>
        Models.FirstOrDefault(m => string.Equals(m.File, Path.GetFileName(path), StringComparison.Ordinal));

    /// <summary>Hashes the file and compares it with the entry's pinned size and SHA-256.</summary>
    public static ModelVerification Verify(string path, ModelEntry? entry)
    {
        var size = new FileInfo(path).Length;
        string sha;
        using (var stream = System.IO.File.OpenRead(path))
            sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (entry is null) return new ModelVerification(true, sha, size, "not in the manifest");
        if (entry.SizeBytes is { } expectedSize && expectedSize != size)
            return new ModelVerification(false, sha, size, $"size {size} differs from the manifest's {expectedSize}");
        if (entry.Sha256 is { } expected && !string.Equals(expected, sha, StringComparison.OrdinalIgnoreCase))
            return new ModelVerification(false, sha, size, $"SHA-256 differs from the manifest's {expected}");
        return new ModelVerification(true, sha, size, entry.Sha256 is null ? $"matches {entry.Name} by name (not pinned yet)" : $"matches {entry.Name}");
    }

    /// <summary>Total RAM of this machine (MemTotal), or the GC's view when /proc is unavailable.</summary>
    public static long DeviceRamBytes()
    {
        try
        {
            foreach (var line in System.IO.File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }
}

internal sealed class ManifestFile
{
    [JsonPropertyName("_comment")] public string? Comment { get; init; }
    public List<ModelEntry>? Models { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ManifestFile))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
