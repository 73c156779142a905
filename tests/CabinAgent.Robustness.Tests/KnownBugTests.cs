using System.Text;
using CabinAgent.Host.Daemon;
using CabinAgent.Host.Replay;
using CabinAgent.Messaging;
using CabinAgent.Speech.Audio;

namespace CabinAgent.Robustness.Tests;

/// <summary>
/// Crashes the fuzzing found in src/ (which this project does not own). Each test is the exact reproduction and
/// states the documented behaviour; they stay red until the parser is fixed, then <see cref="KnownBugs"/> loses
/// the matching entry so the fuzz properties stop tolerating it.
/// </summary>
[Trait("Category", "KnownBug")]
public class KnownBugTests
{
    /// <summary>A chunk size near 4 GiB makes the chunk walk overflow <c>pos</c>; the next Slice throws.</summary>
    [Fact]
    public void WavWithAHugeUnknownChunkIsRefusedNotCrashing()
    {
        var bytes = "RIFF\x24\0\0\0WAVEJUNK"u8.ToArray().Concat(new byte[] { 0xF0, 0xFF, 0xFF, 0xFF }).Concat(new byte[16]).ToArray();
        var ex = Record.Exception(() => WavReader.Read(bytes));
        Assert.IsType<WavFormatException>(ex);
    }

    /// <summary>
    /// <c>AgentService.ParseTranscript</c> documents "anything unreadable still becomes an utterance"; a JSON transcript
    /// with a repeated key throws ArgumentException out of the MQTT transcript handler instead.
    /// </summary>
    [Fact]
    public void TranscriptJsonWithARepeatedKeyStillBecomesAnUtterance()
    {
        var payload = Encoding.UTF8.GetBytes("""{"text":"下一首","lang":"zh","lang":"en"}""");
        var ex = Record.Exception(() => AgentService.ParseTranscript(new InboundMessage("vehicle/demo/agent/transcript", payload, 0)));
        Assert.Null(ex);
    }

    /// <summary><c>AckTracker.OnAck</c> documents "returns why it was ignored"; a repeated key throws ArgumentException instead.</summary>
    [Fact]
    public void AckWithARepeatedKeyIsIgnoredWithAReason()
    {
        var acks = new AckTracker(TimeSpan.FromMinutes(1), TimeProvider.System);
        _ = acks.Expect("c1");
        string? reason = null;
        var ex = Record.Exception(() => reason = acks.OnAck(Encoding.UTF8.GetBytes("""{"command_id":"c1","command_id":"c2","status":"ok"}"""), null));
        Assert.Null(ex);
        Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    /// <summary>
    /// <c>ReplayInput.Parse</c> catches JsonException only around JsonNode.Parse; a line holding an unpaired surrogate
    /// throws ArgumentException ("Cannot transcode invalid UTF-16 string") instead of becoming an InvalidItem.
    /// </summary>
    [Fact]
    public void ReplayLineWithAnUnpairedSurrogateIsAnInvalidItem()
    {
        var line = "{\"text\":\"\uDE3A\"}";
        ReplayItem? item = null;
        var ex = Record.Exception(() => item = ReplayInput.Parse(line, 1, "bug.jsonl"));
        Assert.Null(ex);
        Assert.IsType<InvalidItem>(item);
    }
}

/// <summary>
/// The crashes <see cref="KnownBugTests"/> reproduce, matched narrowly (exception type and throwing method), so the
/// fuzz properties keep running past them and still fail on anything new. Remove an entry when its bug is fixed.
/// </summary>
public static class KnownBugs
{
    private static readonly (string Name, Type Exception, string Method)[] Entries =
    [
        ("WavReader chunk-size overflow", typeof(ArgumentOutOfRangeException), "Parse"),
        ("ParseTranscript repeated JSON key", typeof(ArgumentException), "ParseTranscript"),
        ("AckTracker repeated JSON key", typeof(ArgumentException), "OnAck"),
        ("ReplayInput unpaired surrogate", typeof(ArgumentException), "Parse"),
    ];

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> HitCounts = new();

    /// <summary>True when <paramref name="ex"/>, thrown by <paramref name="owner"/>, is one of the known bugs; counts it.</summary>
    public static bool IsKnown(Exception ex, Type owner)
    {
        foreach (var (name, type, method) in Entries)
        {
            if (ex.GetType() != type) continue;
            // The throwing frame is inside the BCL; look for the owning method in the stack instead.
            var trace = new System.Diagnostics.StackTrace(ex, false);
            if (trace.GetFrames().Any(f => f.GetMethod() is { } m && m.DeclaringType == owner && m.Name == method))
            {
                HitCounts.AddOrUpdate(name, 1, (_, n) => n + 1);
                return true;
            }
        }
        return false;
    }

    public static string Summary() => HitCounts.IsEmpty ? "none" : string.Join(", ", HitCounts.Select(kv => $"{kv.Key}: {kv.Value}"));
}
