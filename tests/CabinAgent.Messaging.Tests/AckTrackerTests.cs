using System.Text;
using CabinAgent.Actions;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Tests.Shared;

namespace CabinAgent.Messaging.Tests;

public class AckTrackerTests
{
    private const string Climate = "vehicle/demo/agent/ack/climate";
    private const string Media = "vehicle/demo/agent/ack/media";

    private readonly SafetyReplayClock _clock = new(1_700_000_000_000);
    private readonly ListLogger _logger = new();
    private readonly RejectedInputLog _rejected;
    private readonly AckTracker _acks;

    public AckTrackerTests()
    {
        _rejected = new RejectedInputLog("ack", _logger, _clock);
        _acks = new AckTracker(TimeSpan.FromSeconds(2), _clock, _rejected);
    }

    private static byte[] Ack(string id, string status) => Encoding.UTF8.GetBytes($$"""{"command_id":"{{id}}","status":"{{status}}"}""");

    [Fact]
    public async Task AnAckOnAnotherDomainsTopicIsIgnoredCountedAndTheRealEcuStillDecides()
    {
        var pending = _acks.Expect("c1", Climate);

        var spoofed = _acks.OnAck(Media, Ack("c1", AckResult.Failed), "c1");
        var real = _acks.OnAck(Climate, Ack("c1", AckResult.Ok), "c1");

        Assert.Equal($"ack for c1 came on {Media}, not on its domain's {Climate}", spoofed);
        Assert.Null(real);
        Assert.Equal(AckResult.Ok, (await pending).Status);
        Assert.Equal(1, _rejected.Total);
        Assert.Equal([$"Warning Rejected ack: {spoofed}"], _logger.Lines);
    }

    [Fact]
    public async Task AnAckOnlyOnAWrongTopicLeavesTheCommandToTimeOutNotToFail()
    {
        var pending = _acks.Expect("c1", Climate);

        _acks.OnAck(Media, Ack("c1", AckResult.Failed), "c1");
        Assert.False(pending.IsCompleted);
        _clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(new AckResult(AckResult.Timeout), await pending);
        Assert.Equal(0, _acks.Waiting);
    }

    [Theory]
    [InlineData("not json", null, "ack on vehicle/demo/agent/ack/climate is not valid JSON")]
    [InlineData("[1]", null, "ack on vehicle/demo/agent/ack/climate is not a JSON object")]
    [InlineData("""{"status":"ok"}""", null, "ack on vehicle/demo/agent/ack/climate names no command")]
    [InlineData("""{"command_id":"c1","status":"maybe"}""", null, "ack for c1 has no valid status")]
    [InlineData("""{"command_id":"zz","status":"ok"}""", null, "no command zz is waiting for an ack")]
    public void BadAcksAreIgnoredWithAReasonAndCounted(string payload, string? correlation, string reasonStart)
    {
        var pending = _acks.Expect("c1", Climate);

        var reason = _acks.OnAck(Climate, Encoding.UTF8.GetBytes(payload), correlation);

        Assert.StartsWith(reasonStart, reason);
        Assert.False(pending.IsCompleted);
        Assert.Equal(1, _rejected.Total);
    }

    [Fact]
    public void EachDomainAcksOnItsOwnTopicBuiltFromTheCatalog()
    {
        var catalog = ActionCatalog.Load(Path.Combine(AppContext.BaseDirectory, "config", "actions.json"));
        var topics = new TopicMap(catalog, "demo");

        var acks = topics.ActionTopics.Order(StringComparer.Ordinal).Select(topics.AckFor).ToList();

        Assert.Equal([
            "vehicle/demo/agent/ack/body", "vehicle/demo/agent/ack/climate", "vehicle/demo/agent/ack/emergency",
            "vehicle/demo/agent/ack/media", "vehicle/demo/agent/ack/navigation", "vehicle/demo/agent/ack/phone",
            "vehicle/demo/agent/ack/status",
        ], acks);
        Assert.Equal(Climate, topics.AckFor(topics.ForAction("HVAC_ON")));
        Assert.Equal("vehicle/demo/agent/ack/#", topics.AckFilter);
        Assert.All(acks, a => Assert.True(MqttConnection.TopicMatches(topics.AckFilter, a)));
    }
}
