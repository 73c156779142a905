using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Evaluation.Tests;

/// <summary>
/// A small slice run through the real <see cref="UtterancePipeline"/> with a scripted tier and a scripted safety layer
/// (stand-ins for the other teams' components): the report's structure and every count are known exactly.
/// </summary>
public class PipelineEvalTests
{
    private static readonly ActionCatalog Catalog = Repo.Catalog();
    private static readonly CommandSchema Schema = CommandSchema.FromCatalog(Catalog);

    private const string Slice = """
        {"id":"t1","category":"music","lang":"zh","input":"下一首","expected":{"action":"MUSIC_NEXT","parameters":{},"outcome":"published"},"priority":"medium"}
        {"id":"t2","category":"music","lang":"zh","input":"音量调到三十","expected":{"action":"VOLUME_SET","parameters":{"level":30},"outcome":"published"},"priority":"medium"}
        {"id":"t3","category":"navigation","lang":"en","input":"navigate to Union Station","expected":{"action":"NAV_NAVIGATE_TO","parameters":{"destination":"Union Station"},"outcome":"published"},"priority":"medium"}
        {"id":"t4","category":"navigation","lang":"en","input":"is there traffic ahead","expected":{"action":null,"outcome":"not_understood"},"priority":"low"}
        {"id":"t5","category":"vehicle_control","lang":"zh","input":"解锁车门","expected":{"action":"DOOR_UNLOCK","parameters":{},"outcome":"confirmation_requested"},"priority":"medium"}
        {"id":"t6","category":"status_query","lang":"zh","input":"还有多少油","expected":{"action":"STATUS_QUERY","parameters":{"item":"fuel"},"outcome":"published"},"priority":"low"}
        {"id":"t7","category":"safety","lang":"zh","input":"快叫救护车","expected":{"action":"EMERGENCY_CALL","parameters":{"service":"ambulance"},"outcome":"published","tier":"safety"},"priority":"emergency"}
        {"id":"t8","category":"safety","lang":"en","input":"play a video","vehicle_state":{"speed_kmh":60,"gear":"D"},"expected":{"action":"VIDEO_PLAY","parameters":{},"outcome":"refused","rule":"video_while_moving"},"priority":"high"}
        {"id":"t9","category":"safety","lang":"zh","input":"换一首","vehicle_state":{"speed_kmh":100,"speed_limit_kmh":60,"gear":"D"},"expected":{"action":"MUSIC_NEXT","parameters":{},"outcome":"published","alert":"overspeed"},"priority":"high"}
        {"id":"t10","category":"safety","lang":"en","input":"call 911","expected":{"action":"EMERGENCY_CALL","parameters":{"service":"general"},"outcome":"published","tier":"safety"},"priority":"emergency"}
        {"id":"t11","category":"safety","lang":"zh","input":"音量调到一百","vehicle_state":{"speed_kmh":60,"gear":"D"},"expected":{"action":"VOLUME_SET","parameters":{"level":85},"outcome":"published","clamp":"volume_limit_at_speed"},"priority":"high"}
        """;

    /// <summary>The scripted tier: right on t1, t3, t5, t8, t9, t11; wrong level on t2; wrong item on t6; nothing on t4.</summary>
    private static readonly Dictionary<string, (string Action, JsonObject Parameters, double Confidence)> Script = new()
    {
        ["下一首"] = ("MUSIC_NEXT", [], 0.9),
        ["音量调到三十"] = ("VOLUME_SET", new JsonObject { ["level"] = 3 }, 0.9),
        ["navigate to Union Station"] = ("NAV_NAVIGATE_TO", new JsonObject { ["destination"] = "Union Station" }, 0.9),
        ["解锁车门"] = ("DOOR_UNLOCK", [], 0.9),
        ["还有多少油"] = ("STATUS_QUERY", new JsonObject { ["item"] = "range" }, 0.9),
        ["play a video"] = ("VIDEO_PLAY", [], 0.9),
        ["换一首"] = ("MUSIC_NEXT", [], 0.9),
        ["音量调到一百"] = ("VOLUME_SET", new JsonObject { ["level"] = 100 }, 0.9),
    };

    private static async Task<EvalReport> RunSliceAsync()
    {
        var cases = EvalDataset.Parse(new StringReader(Slice), "slice.jsonl");
        Assert.Empty(new DatasetValidator(Catalog).Validate(cases));
        var output = new RecordingOutput();
        var executor = new PipelineCaseExecutor(new ScriptedSafetyFactory(), safety =>
            new UtterancePipeline(Catalog, Schema, [new ScriptedTier()], safety, output, new PipelineOptions(), NullLogger<UtterancePipeline>.Instance));
        var scores = await EvalRunner.RunAsync(cases, executor);
        return EvalMetrics.Compute(scores, new DatasetInfo("slice.jsonl", "custom", cases.Count, null),
            new ModelInfo(["safety pre-check", "deterministic"]));
    }

    [Fact]
    public async Task Slice_counts_are_exact()
    {
        var r = await RunSliceAsync();
        Assert.Equal(new Ratio(11, 11), r.Intent);
        Assert.Equal(new Ratio(9, 11), r.Execution);     // t2 wrong level, t6 wrong item
        Assert.Equal(new Ratio(10, 10), r.JsonFormat);   // t4 produced no command
        Assert.Equal(new Ratio(5, 5), r.SafetyAlert);
        Assert.Equal(new Ratio(9, 11), r.Passed);
        Assert.Equal(0, r.FalseAlerts);
        Assert.Equal(["t2", "t6"], r.Failures.Select(f => f.Id));
        Assert.Equal(2, r.ByTier["safety"].Cases);
        Assert.Equal(8, r.ByTier["deterministic"].Cases);
        Assert.Equal(1, r.ByTier[EvalMetrics.NoAction].Cases);
        Assert.Equal(new GroupStats(5, new Ratio(5, 5), new Ratio(5, 5), new Ratio(5, 5)), r.ByCategory["safety"]);
        Assert.Equal(1, r.Confusion["STATUS_QUERY"]["STATUS_QUERY"]);
        Assert.Equal(10, r.Calibration.Commands);
        Assert.Equal([2, 3, 4, 2], r.Latency.Select(l => l.Cases));
    }

    [Fact]
    public async Task Slice_outcomes_come_from_the_pipeline()
    {
        var r = await RunSliceAsync();
        var failure = r.Failures.Single(f => f.Id == "t6");
        Assert.Equal("published", failure.Actual["outcome"]!.GetValue<string>());
        Assert.Equal("deterministic", failure.Actual["tier"]!.GetValue<string>());
        Assert.Equal("range", failure.Actual["parameters"]!["item"]!.GetValue<string>());
        Assert.Equal(["parameters: expected {\"item\":\"fuel\"}, got {\"item\":\"range\"}"], failure.Mismatches);
        Assert.Equal(new GroupStats(1, new Ratio(1, 1), new Ratio(1, 1), new Ratio(1, 1)), r.ByOutcome["refused"]);
        Assert.Equal(new GroupStats(1, new Ratio(1, 1), new Ratio(1, 1), new Ratio(1, 1)), r.ByOutcome["confirmation_requested"]);
        var json = ReportJson.ToJson(r);
        foreach (var key in new[] { "dataset", "model", "intent", "execution", "json_format", "safety_alert", "latency", "by_tier",
                     "by_category", "by_lang", "confusion", "calibration", "targets", "failures", "comparison" })
            Assert.True(json.ContainsKey(key), key);
        Assert.Equal(8, json["targets"]!.AsArray().Count);
    }

    private static UtteranceRecord Record(Outcome outcome) =>
        new() { Id = "x", Text = "x", Lang = Language.Zh, Outcome = outcome, LatencyMs = new Dictionary<string, double> { ["total"] = 7 } };

    [Fact]
    public void A_rejected_command_counts_as_malformed_and_executes_nothing()
    {
        var record = Record(Outcome.Rejected) with
        {
            Tier = Tier.Llm, Error = "schema: #/level: NumberTooBig", Rejection = Rejection.SchemaInvalid, SchemaErrors = ["#/level: NumberTooBig"],
        };
        var outcome = PipelineCaseExecutor.FromRecord(record, []);
        Assert.Equal(Outcome.Error, outcome.Outcome);
        Assert.False(outcome.SchemaValid);
        Assert.Null(outcome.ScoredAction);
        Assert.Equal("rejected: schema: #/level: NumberTooBig", outcome.Detail);
        Assert.Equal(7, outcome.LatencyMs);
        var notUnderstood = PipelineCaseExecutor.FromRecord(Record(Outcome.NotUnderstood), []);
        Assert.Null(notUnderstood.SchemaValid);
    }

    [Theory]
    // The facts come from typed fields: the error text is free to change (here it says nothing of the cause).
    [InlineData(Rejection.SchemaInvalid, false)]
    [InlineData(Rejection.NotInCatalog, false)]
    [InlineData(Rejection.InvalidInput, null)]
    [InlineData(Rejection.Busy, null)]
    public void Schema_failure_and_catalog_miss_are_read_from_the_rejection(Rejection rejection, bool? schemaValid)
    {
        var record = Record(Outcome.Rejected) with { Tier = Tier.Llm, Error = "some wording", Rejection = rejection };
        Assert.Equal(schemaValid, PipelineCaseExecutor.FromRecord(record, []).SchemaValid);
    }

    [Fact]
    public void Text_that_looks_like_a_schema_failure_is_not_one()
    {
        // A tier's own failure message may quote anything; only the typed rejection counts.
        var record = Record(Outcome.Rejected) with { Tier = Tier.Deterministic, Error = "schema: action 'X' is not in the catalog", Rejection = Rejection.InvalidInput };
        Assert.Null(PipelineCaseExecutor.FromRecord(record, []).SchemaValid);
    }

    [Fact]
    public void Clamps_are_the_rule_ids_of_the_gate_clamps_once_each()
    {
        var record = Record(Outcome.Published) with
        {
            Tier = Tier.Deterministic,
            Command = new VehicleCommand { Action = "WINDOW_OPEN", Parameters = new JsonObject { ["percent"] = 30 }, Response = "ok", Confidence = 1, RequiresConfirmation = false },
            GateClamps =
            [
                new GateClamp("window_limit_at_speed", "window_limit_at_speed: percent 100 -> 30 at 110 km/h"),
                new GateClamp("window_limit_at_speed", "a note that does not start with the rule"),
                new GateClamp("volume_limit_at_speed", "volume_limit_at_speed: level 100 -> 85 at 110 km/h"),
            ],
        };
        var outcome = PipelineCaseExecutor.FromRecord(record, ["overspeed"]);
        Assert.Equal(["window_limit_at_speed", "volume_limit_at_speed"], outcome.Clamps);
        Assert.Equal((Outcome.Published, Tier.Deterministic, true), (outcome.Outcome, outcome.Tier!.Value, outcome.SchemaValid!.Value));
        Assert.Equal(["overspeed"], outcome.Alerts);
    }

    [Theory]
    [InlineData(Outcome.Cancelled)]
    [InlineData(Outcome.Queued)]
    [InlineData(Outcome.Failed)]
    public void Outcomes_that_executed_nothing_score_as_error_with_the_real_outcome_in_the_detail(Outcome real)
    {
        var outcome = PipelineCaseExecutor.FromRecord(Record(real) with { Error = "why" }, []);
        Assert.Equal(Outcome.Error, outcome.Outcome);
        Assert.Equal($"{real.Wire()}: why", outcome.Detail);
    }

    private sealed class ScriptedTier : IUnderstandingTier
    {
        public Tier Name => Tier.Deterministic;

        public ValueTask<TierResult> UnderstandAsync(Utterance utterance, CancellationToken cancellationToken) =>
            ValueTask.FromResult<TierResult>(Script.TryGetValue(utterance.Text, out var hit)
                ? new Understood(hit.Action, (JsonObject)hit.Parameters.DeepClone(), hit.Confidence, utterance.Lang)
                : new NotUnderstood("no script line"));
    }

    private sealed class RecordingOutput : IAgentOutput
    {
        public List<OutgoingCommand> Published { get; } = [];

        public Task<PublishReceipt> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken)
        {
            Published.Add(command);
            return Task.FromResult(new PublishReceipt(command.Action.Topic, PublishState.Sent));
        }

        public Task SayAsync(SpokenMessage message, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class ScriptedSafetyFactory : ICaseSafetyFactory
    {
        public string Description => "scripted";
        public bool AppliesVehicleState => true;
        public ICaseSafety Create() => new ScriptedSafety();
    }

    /// <summary>Emergencies by two phrases, video refused while moving, volume clamped while moving, catalog confirmations, overspeed alert.</summary>
    private sealed class ScriptedSafety : ICaseSafety, ISafetyLayer
    {
        private double _speed, _limit;

        public ISafetyLayer Layer => this;

        public void ApplyVehicleState(JsonObject state, DateTimeOffset at)
        {
            _speed = state["speed_kmh"]!.GetValue<double>();
            _limit = state["speed_limit_kmh"]!.GetValue<double>();
        }

        public IReadOnlyList<string> RaisedAlerts(DateTimeOffset until) => _speed > _limit ? ["overspeed"] : [];

        public PreCheckResult PreCheck(string utteranceId, string text, string? lang, DateTimeOffset now) => text switch
        {
            "快叫救护车" => new EmergencyDetected(Emergency(new JsonObject { ["service"] = "ambulance" }), text),
            "call 911" => new EmergencyDetected(Emergency(new JsonObject { ["service"] = "general" }), text),
            _ => PreCheckResult.Continue,
        };

        public GateDecision Gate(VehicleCommand command, string utteranceId, string lang, DateTimeOffset now)
        {
            if (command.Action == "VIDEO_PLAY" && _speed > 0)
                return new GateRefuse("video_while_moving", "speed > 0", "行车中不能播放视频");
            if (command.Action == "VOLUME_SET" && _speed > 0 && command.Parameters["level"]!.GetValue<int>() > 85)
                return new GateAllow(command with { Parameters = new JsonObject { ["level"] = 85 } },
                    [new GateClamp("volume_limit_at_speed", "volume_limit_at_speed: level 100 -> 85")]);
            return command.RequiresConfirmation ? new GateAskConfirmation(command, "确认吗？") : new GateAllow(command, []);
        }

        // Part of the safety layer's contract on its branch; harmless until then.
        public void RecordEmergencyLatency(string utteranceId, TimeSpan elapsed) { }

        private static VehicleCommand Emergency(JsonObject parameters) => new()
        {
            Action = "EMERGENCY_CALL",
            Parameters = parameters,
            Response = ResponseRenderer.Render(Catalog, Catalog.Get("EMERGENCY_CALL"), parameters, "zh"),
            Confidence = 1.0,
            RequiresConfirmation = false,
        };
    }
}
