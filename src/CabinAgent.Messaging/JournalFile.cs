using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CabinAgent.Messaging;

/// <summary>
/// The file discipline of the agent's journals (the outbox, the intake journal, the dead letters): one JSON object a
/// line; every write flushed to the disk before it returns, so a kill or a power cut loses nothing that was
/// acknowledged; a whole journal rewritten through a temporary file and a rename, so a cut leaves the old one or the
/// new one, never half of each; a torn last line skipped when read. Written by hand: the format is ours, and no
/// library gives these guarantees for a few hundred lines.
/// </summary>
internal static class JournalFile
{
    public static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The lines of <paramref name="path"/> in order (none when it does not exist); a line that does not parse is
    /// the torn end of a cut write and is skipped.</summary>
    public static IEnumerable<T> Read<T>(string path) where T : class
    {
        if (!File.Exists(path)) yield break;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            T? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize<T>(line, Json);
            }
            catch (JsonException)
            {
                continue;
            }
            if (parsed is not null) yield return parsed;
        }
    }

    /// <summary>Replaces the journal with <paramref name="lines"/> and returns it open for appending.</summary>
    public static FileStream Rewrite<T>(string path, IEnumerable<T> lines)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (var line in lines)
                Write(stream, line);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    /// <summary>Writes one line without flushing: for a batch that ends with <see cref="Flush"/>.</summary>
    public static void Write<T>(FileStream journal, T line) =>
        journal.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(line, Json) + "\n"));

    public static void Flush(FileStream journal) => journal.Flush(flushToDisk: true);

    /// <summary>Writes one line and flushes it to the disk.</summary>
    public static void Append<T>(FileStream journal, T line)
    {
        Write(journal, line);
        Flush(journal);
    }
}
