using System.Text;
using CabinAgent.Host.Replay;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Speech.Audio;

namespace CabinAgent.Robustness.Tests;

/// <summary>
/// The crashes the fuzzing found, each as its exact reproduction and the documented behaviour, kept as regression
/// tests now that the parsers are fixed.
/// </summary>
[Trait("Category", "Fuzz")]
public class ParserRegressionTests
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
    /// <c>TranscriptPayload.Parse</c> documents "anything unreadable still becomes an utterance"; a JSON transcript
    /// with a repeated key throws ArgumentException out of the MQTT transcript handler instead.
    /// </summary>
    [Fact]
    public void TranscriptJsonWithARepeatedKeyStillBecomesAnUtterance()
    {
        var payload = Encoding.UTF8.GetBytes("""{"text":"下一首","lang":"zh","lang":"en"}""");
        var ex = Record.Exception(() => TranscriptPayload.Parse(payload, 0).Input);
        Assert.Null(ex);
    }

    /// <summary>
    /// Found by the hostile probe of issue #15: an escaped lone surrogate (valid UTF-8, valid JSON) makes System.Text.Json
    /// throw InvalidOperationException, which ended the daemon's transcript lane for good (no answer, no emergency call,
    /// the message redelivered at every restart). Now it is one rejection with its reason.
    /// </summary>
    [Theory]
    [InlineData("""{"id":"\ud800","text":"next song"}""")]
    [InlineData("""{"id":"p1","text":"\udc00next song"}""")]
    [InlineData("""{"id":"p2","text":"next song","lang":"\ud800"}""")]
    public void ATranscriptWithAnEscapedLoneSurrogateIsRejectedWithAReason(string json)
    {
        var input = TranscriptPayload.Parse(Encoding.UTF8.GetBytes(json), 0).Input;
        Assert.Equal((null, "transcript holds a string that is not valid text (an unpaired surrogate escape)"), (input.Text, input.DecodeError));
    }

    [Fact]
    public void AnAckWithAnEscapedLoneSurrogateIsIgnoredWithAReason()
    {
        var acks = new AckTracker(TimeSpan.FromMinutes(1), TimeProvider.System);
        Assert.Equal("ack on vehicle/demo/agent/ack/media holds a string that is not valid text (an unpaired surrogate escape)",
            acks.OnAck("vehicle/demo/agent/ack/media", Encoding.UTF8.GetBytes("""{"command_id":"\ud800","status":"ok"}"""), null));
    }

    /// <summary><c>AckTracker.OnAck</c> documents "returns why it was ignored"; a repeated key throws ArgumentException instead.</summary>
    [Fact]
    public void AckWithARepeatedKeyIsIgnoredWithAReason()
    {
        var acks = new AckTracker(TimeSpan.FromMinutes(1), TimeProvider.System);
        _ = acks.Expect("c1", "vehicle/demo/agent/ack/media");
        string? reason = null;
        var ex = Record.Exception(() => reason = acks.OnAck("vehicle/demo/agent/ack/media", Encoding.UTF8.GetBytes("""{"command_id":"c1","command_id":"c2","status":"ok"}"""), null));
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
