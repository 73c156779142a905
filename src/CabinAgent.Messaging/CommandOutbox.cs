using System.Text.Json.Serialization;

namespace CabinAgent.Messaging;

/// <summary>A message waiting for the broker, as kept on disk: a command, or what the driver is to hear.</summary>
/// <param name="CommandId">The command id; for a spoken response, an id of its own.</param>
/// <param name="Action">The action; for a spoken response, its kind (<c>queued</c>, <c>error</c>, …).</param>
/// <param name="Kind"><see cref="OutboxKinds.Command"/> or <see cref="OutboxKinds.Response"/>; journals written before
/// responses were queued have none, and hold only commands.</param>
public sealed record OutboxEntry(
    [property: JsonPropertyName("command_id")] string CommandId,
    [property: JsonPropertyName("utterance_id")] string UtteranceId,
    [property: JsonPropertyName("tier")] string Tier,
    [property: JsonPropertyName("lang")] string Lang,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("topic")] string Topic,
    [property: JsonPropertyName("payload")] string Payload,
    [property: JsonPropertyName("accepted_unix_ms")] long AcceptedUnixMs,
    [property: JsonPropertyName("kind")] string? Kind = OutboxKinds.Command)
{
    [JsonIgnore] public bool IsResponse => Kind == OutboxKinds.Response;
}

public static class OutboxKinds
{
    public const string Command = "command";
    public const string Response = "response";
}

/// <summary>
/// A small durable queue of commands, and the responses that go with them, accepted while the broker was
/// unreachable. It is an append-only journal (<c>add</c>, then <c>done</c> once sent or dropped), flushed to the disk on every write so a
/// process kill loses nothing; it is compacted when empty and on open. Entries come back in the order
/// they were accepted. A kill between "sent" and "done" can send one command twice: consumers
/// deduplicate by <c>command_id</c> (docs/mqtt.md).
/// </summary>
public sealed class CommandOutbox : IDisposable
{
    private readonly string _path;
    private readonly object _gate = new();
    private readonly List<OutboxEntry> _pending = [];
    private FileStream _journal;

    public CommandOutbox(string path)
    {
        _path = path;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Load();
        _journal = Rewrite();
    }

    public int Count { get { lock (_gate) return _pending.Count; } }

    public IReadOnlyList<OutboxEntry> Snapshot() { lock (_gate) return _pending.ToList(); }

    public void Add(OutboxEntry entry)
    {
        lock (_gate)
        {
            Append(new JournalLine("add", entry, null));
            _pending.Add(entry);
        }
    }

    /// <summary>Marks an entry sent or dropped; it will not come back after a restart.</summary>
    public void Complete(string commandId)
    {
        lock (_gate)
        {
            var index = _pending.FindIndex(e => e.CommandId == commandId);
            if (index < 0) return;
            _pending.RemoveAt(index);
            if (_pending.Count == 0)
            {
                _journal.Dispose();
                _journal = Rewrite();
            }
            else
            {
                Append(new JournalLine("done", null, commandId));
            }
        }
    }

    private void Load()
    {
        foreach (var line in JournalFile.Read<JournalLine>(_path))
        {
            if (line.Op == "add" && line.Entry is { } entry) _pending.Add(entry);
            else if (line.Op == "done" && line.CommandId is { } id) _pending.RemoveAll(e => e.CommandId == id);
        }
    }

    private FileStream Rewrite() => JournalFile.Rewrite(_path, _pending.Select(entry => new JournalLine("add", entry, null)));

    private void Append(JournalLine line) => JournalFile.Append(_journal, line);

    public void Dispose()
    {
        lock (_gate) _journal.Dispose();
    }

    private sealed record JournalLine(
        [property: JsonPropertyName("op")] string Op,
        [property: JsonPropertyName("entry")] OutboxEntry? Entry,
        [property: JsonPropertyName("command_id")] string? CommandId);
}
