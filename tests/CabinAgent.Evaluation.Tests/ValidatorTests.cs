using System.Text.Json.Nodes;

namespace CabinAgent.Evaluation.Tests;

public class ValidatorTests
{
    private static readonly DatasetValidator Validator = new(Repo.Catalog());

    private static EvalCase Case(string json) => EvalDataset.ParseLine(json, "test");

    private static IReadOnlyList<string> Problems(params string[] lines) => Validator.Validate(lines.Select(Case));

    [Fact]
    public void A_sound_case_has_no_problems()
    {
        Assert.Empty(Problems("""{"id":"a","category":"music","lang":"zh","input":"播放周杰伦的夜曲","expected":{"action":"MUSIC_PLAY","parameters":{"artist":"周杰伦","song":"夜曲"},"outcome":"published"},"priority":"medium"}"""));
    }

    [Fact]
    public void Unknown_action_is_reported()
    {
        var problems = Problems("""{"id":"a","category":"music","lang":"zh","input":"x","expected":{"action":"MUSIC_DANCE","parameters":{},"outcome":"published"},"priority":"medium"}""");
        Assert.Equal(["a: unknown action 'MUSIC_DANCE'"], problems);
    }

    [Fact]
    public void Out_of_range_parameter_fails_the_command_schema()
    {
        var problems = Problems("""{"id":"a","category":"music","lang":"zh","input":"音量调到一百二","expected":{"action":"VOLUME_SET","parameters":{"level":120},"outcome":"published"},"priority":"medium"}""");
        var only = Assert.Single(problems);
        Assert.StartsWith("a: expected command is not schema-valid: parameters:", only);
    }

    [Fact]
    public void Span_parameter_must_be_copied_from_the_input()
    {
        var problems = Problems("""{"id":"a","category":"navigation","lang":"zh","input":"导航到北京南站","expected":{"action":"NAV_NAVIGATE_TO","parameters":{"destination":"北京站"},"outcome":"published"},"priority":"medium"}""");
        Assert.Equal(["a: span parameter destination='北京站' is not copied verbatim from the input"], problems);
    }

    [Fact]
    public void Duplicate_ids_and_inputs_are_reported()
    {
        const string line = """{"id":"a","category":"music","lang":"zh","input":"下一首","expected":{"action":"MUSIC_NEXT","parameters":{},"outcome":"published"},"priority":"medium"}""";
        Assert.Equal(["a: duplicate id", "a: duplicate input '下一首'"], Problems(line, line));
    }

    [Fact]
    public void Refusal_needs_a_rule_and_a_vehicle_state()
    {
        var problems = Problems("""{"id":"a","category":"safety","lang":"zh","input":"打开后备箱","expected":{"action":"TRUNK_OPEN","parameters":{},"outcome":"refused"},"priority":"high"}""");
        Assert.Equal(["a: a rule is given exactly when the outcome is 'refused'"], problems);
        problems = Problems("""{"id":"b","category":"safety","lang":"zh","input":"打开后备箱","expected":{"action":"TRUNK_OPEN","parameters":{},"outcome":"refused","rule":"trunk_while_moving"},"priority":"high"}""");
        Assert.Equal(["b: an expected refusal needs a vehicle_state"], problems);
    }

    [Fact]
    public void Clamp_needs_a_known_rule_a_published_outcome_and_a_state()
    {
        var problems = Problems("""{"id":"a","category":"safety","lang":"zh","input":"音量调到一百","vehicle_state":{"speed_kmh":60},"expected":{"action":"VOLUME_SET","parameters":{"level":85},"outcome":"published","clamp":"volume_limit_at_speed"},"priority":"high"}""",
            """{"id":"b","category":"safety","lang":"zh","input":"音量调到九十","expected":{"action":"VOLUME_SET","parameters":{"level":85},"outcome":"published","clamp":"volume_cap"},"priority":"high"}""");
        Assert.Equal(["b: unknown clamp rule 'volume_cap'", "b: a clamp is expected only on a published command with a vehicle_state"], problems);
    }

    [Fact]
    public void Confirmation_outcome_must_match_the_catalog()
    {
        var problems = Problems("""{"id":"a","category":"vehicle_control","lang":"en","input":"unlock the doors","expected":{"action":"DOOR_UNLOCK","parameters":{},"outcome":"published"},"priority":"medium"}""");
        Assert.Equal(["a: DOOR_UNLOCK requires confirmation, it cannot be published straight away"], problems);
    }

    [Fact]
    public void Negative_case_must_expect_not_understood_without_parameters()
    {
        var problems = Problems("""{"id":"a","category":"music","lang":"en","input":"who sings this","expected":{"action":null,"parameters":{},"outcome":"published"},"priority":"low"}""");
        Assert.Equal(["a: a case without an action must expect 'not_understood'", "a: a case without an action has no parameters"], problems);
    }

    [Fact]
    public void Vehicle_state_signals_are_checked()
    {
        var problems = Problems("""{"id":"a","category":"safety","lang":"en","input":"next song","vehicle_state":{"speed_kmh":-5,"gear":"X","warp":1},"expected":{"action":"MUSIC_NEXT","parameters":{},"outcome":"published","alert":"overspeed"},"priority":"high"}""");
        Assert.Equal([
            "a: vehicle_state.speed_kmh has an invalid value -5",
            "a: vehicle_state.gear has an invalid value \"X\"",
            "a: unknown vehicle_state signal 'warp'",
        ], problems);
    }

    [Theory]
    [InlineData("not json", "test: invalid JSON")]
    [InlineData("""{"id":"a"}""", "test: 'expected' must be an object")]
    [InlineData("""{"id":"a","expected":{"outcome":"published"},"category":"music","lang":"zh","input":"x"}""", "test: 'priority' is required")]
    [InlineData("""{"id":7,"expected":{"outcome":"published"}}""", "test: 'id' must be a string")]
    public void Malformed_lines_get_a_clear_reason(string line, string start)
    {
        var ex = Assert.Throws<DatasetException>(() => Case(line));
        Assert.StartsWith(start, ex.Message);
    }

    [Fact]
    public void Loader_reports_the_line_number()
    {
        var text = """
            {"id":"a","category":"music","lang":"zh","input":"下一首","expected":{"action":"MUSIC_NEXT","parameters":{},"outcome":"published"},"priority":"medium"}

            {"id":"b"
            """;
        var ex = Assert.Throws<DatasetException>(() => EvalDataset.Parse(new StringReader(text), "x.jsonl"));
        Assert.StartsWith("x.jsonl:3: invalid JSON", ex.Message);
    }

    [Fact]
    public void Parsed_parameters_are_kept_as_given()
    {
        var c = Case("""{"id":"a","category":"vehicle_control","lang":"zh","input":"温度二十二点五度","expected":{"action":"HVAC_SET_TEMPERATURE","parameters":{"temperature":22.5},"outcome":"published"},"priority":"medium"}""");
        Assert.Equal(22.5, c.Expected.Parameters!["temperature"]!.GetValue<double>());
        Assert.Null(c.VehicleState);
        Assert.Equal("medium", c.Priority);
        Assert.True(Scoring.ParametersEqual(c.Expected.Parameters, new JsonObject { ["temperature"] = 22.50m }));
    }
}
