using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Safety;
using CabinAgent.Understanding;

namespace CabinAgent.Pipeline.Tests;

/// <summary>
/// The replay line is a contract (README, docs/mqtt.md, run-samples): the typed record must write exactly the line the
/// string-typed record wrote. Each golden line here has the shape of a line of <c>./scripts/run-samples.sh</c>.
/// </summary>
public class UtteranceRecordJsonTests
{
    private static readonly IReadOnlyDictionary<string, double> Latency =
        new Dictionary<string, double> { ["validate"] = 0.0651, ["safety"] = 0.6884, ["total"] = 15.2331 };

    private static VehicleCommand Trunk(bool confirm) => new()
    {
        Action = "TRUNK_OPEN", Parameters = [], Response = "后备箱已打开", Confidence = 1, RequiresConfirmation = confirm,
    };

    private static UtteranceRecord Record(Outcome outcome) => new()
    {
        Id = "s1", Text = "打开后备箱", Lang = Language.Zh, Outcome = outcome, LatencyMs = Latency,
    };

    public static TheoryData<UtteranceRecord, string> Lines => new()
    {
        {
            Record(Outcome.Published) with
            {
                Tier = Tier.Deterministic, Command = Trunk(false), Topic = "vehicle/demo/cmd/body", CommandId = "3de19e2a",
                Spoken = "后备箱已打开", Explanation = "template zh.trunk.open[0]",
                TierDetails = new Dictionary<Tier, JsonObject> { [Tier.Deterministic] = new() { ["template_id"] = "zh.trunk.open[0]" } },
            },
            """{"id":"s1","text":"打开后备箱","tier":"deterministic","outcome":"published","command":{"action":"TRUNK_OPEN","parameters":{},"response":"后备箱已打开","confidence":1,"requires_confirmation":false},"error":null,"latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":"vehicle/demo/cmd/body","command_id":"3de19e2a","lang":"zh","spoken":"后备箱已打开","explanation":"template zh.trunk.open[0]","deterministic":{"template_id":"zh.trunk.open[0]"}}"""
        },
        {
            Record(Outcome.Rejected) with { Text = "", Error = "empty transcript", Rejection = Rejection.InvalidInput },
            """{"id":"s1","text":"","tier":null,"outcome":"rejected","command":null,"error":"empty transcript","latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":null,"command_id":null,"lang":"zh","spoken":null,"explanation":null}"""
        },
        {
            Record(Outcome.NotUnderstood) with { Lang = Language.En, Text = "what", Error = "deterministic: no template matches", Spoken = "Sorry?" },
            """{"id":"s1","text":"what","tier":null,"outcome":"not_understood","command":null,"error":"deterministic: no template matches","latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":null,"command_id":null,"lang":"en","spoken":"Sorry?","explanation":null}"""
        },
        {
            Record(Outcome.Refused) with
            {
                Tier = Tier.Deterministic, Command = Trunk(true), GateRule = "trunk_while_moving",
                Error = "refused by safety rule trunk_while_moving: TRUNK_OPEN refused at 60 km/h (allowed up to 3 km/h)", Spoken = "无法打开后备箱。",
            },
            """{"id":"s1","text":"打开后备箱","tier":"deterministic","outcome":"refused","command":{"action":"TRUNK_OPEN","parameters":{},"response":"后备箱已打开","confidence":1,"requires_confirmation":true},"error":"refused by safety rule trunk_while_moving: TRUNK_OPEN refused at 60 km/h (allowed up to 3 km/h)","latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":null,"command_id":null,"lang":"zh","spoken":"无法打开后备箱。","explanation":null,"gate_rule":"trunk_while_moving"}"""
        },
        {
            Record(Outcome.ConfirmationRequested) with { Tier = Tier.Deterministic, Command = Trunk(true), Spoken = "确定吗？" },
            """{"id":"s1","text":"打开后备箱","tier":"deterministic","outcome":"confirmation_requested","command":{"action":"TRUNK_OPEN","parameters":{},"response":"后备箱已打开","confidence":1,"requires_confirmation":true},"error":null,"latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":null,"command_id":null,"lang":"zh","spoken":"确定吗？","explanation":null}"""
        },
        {
            Record(Outcome.Cancelled) with { Tier = Tier.Safety, Error = "the driver declined the pending command", Explanation = "answer to a pending confirmation" },
            """{"id":"s1","text":"打开后备箱","tier":"safety","outcome":"cancelled","command":null,"error":"the driver declined the pending command","latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":null,"command_id":null,"lang":"zh","spoken":null,"explanation":"answer to a pending confirmation"}"""
        },
        {
            Record(Outcome.Queued) with { Tier = Tier.Safety, Command = Trunk(false), Error = "broker unreachable: command kept in the outbox until it reconnects" },
            """{"id":"s1","text":"打开后备箱","tier":"safety","outcome":"queued","command":{"action":"TRUNK_OPEN","parameters":{},"response":"后备箱已打开","confidence":1,"requires_confirmation":false},"error":"broker unreachable: command kept in the outbox until it reconnects","latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":null,"command_id":null,"lang":"zh","spoken":null,"explanation":null}"""
        },
        {
            Record(Outcome.Failed) with
            {
                Tier = Tier.Llm, Command = Trunk(false), Topic = "t", CommandId = "c", Ack = "timeout",
                Error = "the ECU did not acknowledge the command in time",
                GateClamps = [new GateClamp("window_limit_at_speed", "window_limit_at_speed: percent 100 -> 30 at 110 km/h")],
            },
            """{"id":"s1","text":"打开后备箱","tier":"llm","outcome":"failed","command":{"action":"TRUNK_OPEN","parameters":{},"response":"后备箱已打开","confidence":1,"requires_confirmation":false},"error":"the ECU did not acknowledge the command in time","latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":"t","command_id":"c","lang":"zh","spoken":null,"explanation":null,"gate_notes":["window_limit_at_speed: percent 100 -> 30 at 110 km/h"]}"""
        },
        {
            Record(Outcome.Error) with
            {
                Tier = Tier.Llm, Error = "llm tier failed: cancelled",
                TierDetails = new Dictionary<Tier, JsonObject> { [Tier.Llm] = new() { ["raw"] = "{" } },
            },
            """{"id":"s1","text":"打开后备箱","tier":"llm","outcome":"error","command":null,"error":"llm tier failed: cancelled","latency_ms":{"validate":0.065,"safety":0.688,"total":15.233},"topic":null,"command_id":null,"lang":"zh","spoken":null,"explanation":null,"llm":{"raw":"{"}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void EveryOutcomeWritesTodaysReplayLine(UtteranceRecord record, string line) =>
        Assert.Equal(line, record.ToJsonLine().ToJsonString(CommandJson.Options));

    [Fact]
    public void TheGoldenLinesCoverEveryOutcome() =>
        Assert.Equal(Enum.GetValues<Outcome>().Order(), Lines.Select(row => ((UtteranceRecord)row[0]).Outcome).Order());

    [Theory]
    [InlineData(Outcome.Published, "published")]
    [InlineData(Outcome.Rejected, "rejected")]
    [InlineData(Outcome.NotUnderstood, "not_understood")]
    [InlineData(Outcome.Refused, "refused")]
    [InlineData(Outcome.ConfirmationRequested, "confirmation_requested")]
    [InlineData(Outcome.Cancelled, "cancelled")]
    [InlineData(Outcome.Queued, "queued")]
    [InlineData(Outcome.Failed, "failed")]
    [InlineData(Outcome.Error, "error")]
    public void AnOutcomeIsItsWireStringInJsonAndBack(Outcome outcome, string wire)
    {
        Assert.Equal(wire, outcome.Wire());
        Assert.Equal($"\"{wire}\"", JsonSerializer.Serialize(outcome));
        Assert.Equal(outcome, JsonSerializer.Deserialize<Outcome>($"\"{wire}\""));
        Assert.Equal(outcome, WireName.Parse<Outcome>(wire));
    }

    [Fact]
    public void TiersAndLanguagesKeepTheirWireStrings()
    {
        Assert.Equal(["deterministic", "llm", "safety"], Enum.GetValues<Tier>().Select(t => t.Wire()));
        Assert.Equal(["zh", "en"], Enum.GetValues<Language>().Select(l => l.Code()));
        Assert.Equal("""["safety","en"]""", JsonSerializer.Serialize(new object[] { Tier.Safety, Language.En }));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("\"not-understood\"")]
    public void AnythingButAWireStringIsNotAnOutcome(string json)
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Outcome>(json));
        Assert.Null(WireName.Parse<Outcome>(JsonSerializer.Deserialize<string>(json.StartsWith('"') ? json : $"\"{json}\"")));
    }
}
