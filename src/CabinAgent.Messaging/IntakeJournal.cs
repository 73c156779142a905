using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace CabinAgent.Messaging;

/// <summary>A transcript from the bus as the intake journal keeps it: enough to run it again after a crash.</summary>
/// <param name="Key">Unique per accepted transcript: the payload's hash when it named its own id, else the utterance id.</param>
/// <param name="Content">SHA-256 of the payload (hex, 32 digits): how a redelivery is recognised.</param>
/// <param name="SourceId">The transcript named its own valid id, so the same payload again is the same utterance.</param>
public sealed record IntakeEntry(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("source_id")] bool SourceId,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("lang")] string? Lang,
    [property: JsonPropertyName("decode_error")] string? DecodeError,
    [property: JsonPropertyName("id_problem")] string? IdProblem,
    [property: JsonPropertyName("accepted_unix_ms")] long AcceptedUnixMs)
{
    public static string ContentHash(ReadOnlySpan<byte> payload)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(payload, hash);
        return Convert.ToHexStringLower(hash[..16]);
    }
}

/// <summary>
/// The daemon's durable intake: every transcript from the bus is written here, fsynced, before the broker is told it
/// arrived (QoS 1 PUBACK), and marked done once it has its answer. So a kill loses nothing the broker let go of
/// (unfinished entries run again at start), and a transcript the broker sends again is recognised and not run twice.
/// <para>Recognising a redelivery: a transcript that named its own id is the same utterance whenever the same payload
/// comes again. A plain-text one (or one whose id was unusable) has no identity of its own — the same words said twice
/// are two requests — so it counts as a redelivery only when the broker flags it as one (DUP) and an identical
/// payload was accepted on an earlier connection and never acknowledged to the broker: exactly the transcripts a
/// broker sends again.</para>
/// <para>Exactly one answer across a kill: an entry is done when the pipeline finished it, or as soon as the agent's own
/// answer to it comes back from the broker (<see cref="Answered"/>) — so a kill after the broker took the answer and
/// before the pipeline said "done" does not run it again (the broker keeps that echo for the agent's session).</para>
/// <para>An append-only JSONL journal in the style of <see cref="CommandOutbox"/>: <c>accept</c>, then <c>done</c>;
/// rewritten on open and when it has grown, keeping unfinished entries and the identities of finished ones for
/// <c>retention</c> (the broker's session expiry: nothing older can be redelivered). Thread-safe.</para>
/// </summary>
public sealed class IntakeJournal : IDisposable
{
    private const int MaxRemembered = 200_000;

    private readonly string _path;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<string, Remembered> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Remembered>> _plainByContent = new(StringComparer.Ordinal);
    private readonly Queue<Remembered> _byAge = new();
    private readonly Dictionary<string, List<Remembered>> _unfinishedById = new(StringComparer.Ordinal);
    private FileStream _journal;
    private int _linesSinceRewrite;

    /// <summary>What the journal knows about one accepted transcript.</summary>
    /// <param name="connection">The broker connection it arrived on; <see cref="EarlierProcess"/> for one loaded from disk.</param>
    private sealed class Remembered(IntakeEntry entry, int connection)
    {
        public IntakeEntry Entry { get; set; } = entry;
        public int Connection { get; } = connection;
        public bool Finished { get; set; }
        public bool Acknowledged { get; set; }
        public bool Matched { get; set; }
    }

    public IntakeJournal(string path, TimeSpan retention, TimeProvider time)
    {
        _path = path;
        _retention = retention;
        _time = time;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Load();
        _journal = Rewrite();
    }

    /// <summary>Accepted transcripts without their answer yet.</summary>
    public int Unfinished { get { lock (_gate) return _byKey.Values.Count(r => !r.Finished); } }

    /// <summary>Unfinished entries in the order they were accepted: what a restart runs again.</summary>
    public IReadOnlyList<IntakeEntry> UnfinishedEntries()
    {
        lock (_gate) return _byAge.Where(r => !r.Finished).Select(r => r.Entry).ToList();
    }

    private const int EarlierProcess = int.MinValue;

    /// <summary>
    /// Writes the transcripts that are new (one fsync for the batch) and returns, per candidate, null when it was
    /// accepted or the entry it duplicates. <c>Connection</c> numbers the broker connection it arrived on: a redelivery
    /// only ever comes on a later one.
    /// </summary>
    public IReadOnlyList<IntakeEntry?> Accept(IReadOnlyList<(IntakeEntry Entry, bool Redelivered, int Connection)> candidates)
    {
        var results = new IntakeEntry?[candidates.Count];
        lock (_gate)
        {
            Forget(_time.GetUtcNow().ToUnixTimeMilliseconds());
            var written = 0;
            for (var i = 0; i < candidates.Count; i++)
            {
                var (entry, redelivered, connection) = candidates[i];
                if (FindDuplicate(entry, redelivered, connection) is { } original)
                {
                    results[i] = original.Entry;
                    continue;
                }
                JournalFile.Write(_journal, new JournalLine("accept", entry, null));
                Remember(new Remembered(entry, connection));
                written++;
            }
            if (written > 0)
            {
                JournalFile.Flush(_journal);
                _linesSinceRewrite += written;
            }
        }
        return results;
    }

    /// <summary>The broker was told (PUBACK sent on the connection it arrived on): it will not send this one again.</summary>
    public void Acknowledged(string key)
    {
        lock (_gate)
            if (_byKey.TryGetValue(key, out var remembered)) remembered.Acknowledged = true;
    }

    /// <summary>
    /// The broker has an answer to utterance <paramref name="utteranceId"/> (the agent's own answer came back to it): its
    /// oldest unfinished transcript is done, even if the process dies before it would have said so itself.
    /// </summary>
    public void Answered(string utteranceId)
    {
        lock (_gate)
            if (_unfinishedById.TryGetValue(utteranceId, out var unfinished) && unfinished.Count > 0)
                Complete(unfinished[0].Entry.Key);
    }

    /// <summary>The transcript has its answer; it will not run again after a restart.</summary>
    public void Complete(string key)
    {
        lock (_gate)
        {
            if (!_byKey.TryGetValue(key, out var remembered) || remembered.Finished) return;
            remembered.Finished = true;
            Unindex(remembered);
            // Only its identity is still needed, to recognise a redelivery.
            remembered.Entry = remembered.Entry with { Text = null, Lang = null, DecodeError = null, IdProblem = null };
            JournalFile.Append(_journal, new JournalLine("done", null, key));
            if (++_linesSinceRewrite > Math.Max(10_000, 4 * _byKey.Count))
            {
                _journal.Dispose();
                _journal = Rewrite();
            }
        }
    }

    private Remembered? FindDuplicate(IntakeEntry entry, bool redelivered, int connection)
    {
        if (entry.SourceId)
            return _byKey.GetValueOrDefault(entry.Key);
        if (!redelivered || !_plainByContent.TryGetValue(entry.Content, out var sameWords)) return null;
        var original = sameWords.FirstOrDefault(r => !r.Matched && !r.Acknowledged && r.Connection < connection);
        if (original is not null) original.Matched = true;
        return original;
    }

    private void Remember(Remembered remembered)
    {
        _byKey[remembered.Entry.Key] = remembered;
        _byAge.Enqueue(remembered);
        if (!remembered.Finished)
        {
            if (!_unfinishedById.TryGetValue(remembered.Entry.Id, out var sameId)) _unfinishedById[remembered.Entry.Id] = sameId = [];
            sameId.Add(remembered);
        }
        if (!remembered.Entry.SourceId)
        {
            if (!_plainByContent.TryGetValue(remembered.Entry.Content, out var list)) _plainByContent[remembered.Entry.Content] = list = [];
            list.Add(remembered);
        }
    }

    private void Unindex(Remembered remembered)
    {
        if (!_unfinishedById.TryGetValue(remembered.Entry.Id, out var sameId)) return;
        sameId.Remove(remembered);
        if (sameId.Count == 0) _unfinishedById.Remove(remembered.Entry.Id);
    }

    /// <summary>Drops the identities of finished transcripts the broker can no longer redeliver.</summary>
    private void Forget(long nowUnixMs)
    {
        while (_byAge.TryPeek(out var oldest) && oldest.Finished &&
               (nowUnixMs - oldest.Entry.AcceptedUnixMs > _retention.TotalMilliseconds || _byAge.Count > MaxRemembered))
        {
            _byAge.Dequeue();
            _byKey.Remove(oldest.Entry.Key);
            if (!oldest.Entry.SourceId && _plainByContent.TryGetValue(oldest.Entry.Content, out var list))
            {
                list.Remove(oldest);
                if (list.Count == 0) _plainByContent.Remove(oldest.Entry.Content);
            }
        }
    }

    private void Load()
    {
        // A torn last line (skipped by JournalFile.Read) was never acknowledged, so the broker sends that transcript again.
        foreach (var line in JournalFile.Read<JournalLine>(_path))
        {
            if (line.Op is "accept" or "seen" && line.Entry is { } entry && !_byKey.ContainsKey(entry.Key))
                Remember(new Remembered(entry, EarlierProcess) { Finished = line.Op == "seen" });
            else if (line.Op == "done" && line.Key is { } key && _byKey.TryGetValue(key, out var remembered) && !remembered.Finished)
            {
                remembered.Finished = true;
                Unindex(remembered);
            }
        }
        Forget(_time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    private FileStream Rewrite()
    {
        var journal = JournalFile.Rewrite(_path, _byAge.Select(remembered => remembered.Finished
            ? new JournalLine("seen", remembered.Entry with { Text = null, Lang = null, DecodeError = null, IdProblem = null }, null)
            : new JournalLine("accept", remembered.Entry, null)));
        _linesSinceRewrite = 0;
        return journal;
    }

    public void Dispose()
    {
        lock (_gate) _journal.Dispose();
    }

    private sealed record JournalLine(
        [property: JsonPropertyName("op")] string Op,
        [property: JsonPropertyName("entry")] IntakeEntry? Entry,
        [property: JsonPropertyName("key")] string? Key);
}
