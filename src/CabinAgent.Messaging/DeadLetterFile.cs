using System.Text.Json.Serialization;

namespace CabinAgent.Messaging;

/// <summary>
/// Messages the broker will never take (an ill-formed string, a refusal, a connection cut each time it was sent),
/// kept on disk for a person to look at. Taking them out of the outbox is what keeps one bad message from blocking
/// every command behind it. Append-only JSON lines, flushed to the disk on every write; never read back by the agent.
/// </summary>
public sealed class DeadLetterFile(string path)
{
    private readonly object _gate = new();
    private int _count;

    public string Path => path;

    /// <summary>Messages written since the agent started.</summary>
    public int Count => Volatile.Read(ref _count);

    public void Add(OutboxEntry entry, string reason, long atUnixMs)
    {
        lock (_gate)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            JournalFile.Append(stream, new DeadLetter(entry, reason, atUnixMs));
            _count++;
        }
    }

    /// <summary>The file beside an outbox journal: <c>outbox-demo.jsonl</c> → <c>outbox-demo.dead-letter.jsonl</c>.</summary>
    public static string BesideOutbox(string outboxPath) =>
        System.IO.Path.ChangeExtension(outboxPath, null) + ".dead-letter.jsonl";

    private sealed record DeadLetter(
        [property: JsonPropertyName("entry")] OutboxEntry Entry,
        [property: JsonPropertyName("reason")] string Reason,
        [property: JsonPropertyName("at_unix_ms")] long AtUnixMs);
}
