using CabinAgent.Understanding.Deterministic;
using Xunit;
using CabinAgent.Actions;

namespace CabinAgent.Understanding.Tests;

/// <summary>Bad intent data fails start-up with the file and the entry at fault.</summary>
public sealed class IntentLoaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cabin-intents-" + Guid.NewGuid().ToString("N"));

    public IntentLoaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private DeterministicTier LoadWith(string json, string file = "test.json")
    {
        File.WriteAllText(Path.Combine(_dir, file), json);
        return DeterministicTier.Load(_dir, Repo.Catalog);
    }

    private static string Intent(string action, string sentence, string extra = "") =>
        $$"""{ "language": "zh", {{extra}} "intents": [ { "action": "{{action}}", "templates": [ { "id": "t1", "sentences": ["{{sentence}}"] } ] } ] }""";

    [Theory]
    [InlineData("NO_SUCH_ACTION", "打开", "", "NO_SUCH_ACTION: action is not in the catalog")]
    [InlineData("HVAC_SET_TEMPERATURE", "温度{temp}度", "", "t1: slot {temp}: HVAC_SET_TEMPERATURE has no parameter 'temp'")]
    [InlineData("HVAC_SET_TEMPERATURE", "(温度{temperature}度", "", "t1: \"(温度{temperature}度\": '(' at column 1 is never closed")]
    [InlineData("HVAC_SET_TEMPERATURE", "温度度", "", "t1: required parameter 'temperature' of HVAC_SET_TEMPERATURE is never filled")]
    [InlineData("HVAC_SET_TEMPERATURE", "<nope>{temperature}度", "", "t1: unknown rule <nope>")]
    [InlineData("NAV_FIND_NEARBY", "找{category}", "", "t1: slot {category}: NAV_FIND_NEARBY.category is an enum; name a list ({list:category})")]
    [InlineData("NAV_FIND_NEARBY", "找{place:category}", "\"lists\": { \"place\": { \"moon_base\": [\"月球基地\"] } },", "t1: list place has value 'moon_base', not allowed for NAV_FIND_NEARBY.category")]
    [InlineData("NAV_FIND_NEARBY", "找{nolist:category}", "", "t1: slot {nolist:category}: unknown list 'nolist'")]
    [InlineData("HVAC_SET_TEMPERATURE", "温度{temperature}度？", "", "t1: '度？' has characters the normalizer removes")]
    [InlineData("NAV_NAVIGATE_TO", "去{-destination}", "", "t1: slot {-destination}: only numbers can be negated")]
    public void Bad_template_names_the_file_and_entry(string action, string sentence, string extra, string expected)
    {
        var ex = Assert.Throws<IntentDataException>(() => LoadWith(Intent(action, sentence, extra)));
        Assert.StartsWith("test.json: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal("test.json", ex.File);
    }

    [Fact]
    public void Fixed_slot_outside_the_range_fails()
    {
        var json = """{ "language": "zh", "intents": [ { "action": "HVAC_ADJUST_TEMPERATURE", "templates": [ { "id": "cold", "slots": { "delta": 20 }, "sentences": ["冷"] } ] } ] }""";
        var ex = Assert.Throws<IntentDataException>(() => LoadWith(json));
        Assert.Equal("test.json: cold: slot 'delta' = 20 outside -10..10", ex.Message);
    }

    [Fact]
    public void Fixed_span_slot_fails_because_spans_come_from_the_utterance()
    {
        var json = """{ "language": "zh", "intents": [ { "action": "NAV_NAVIGATE_TO", "templates": [ { "id": "home", "slots": { "destination": "家" }, "sentences": ["回家"] } ] } ] }""";
        var ex = Assert.Throws<IntentDataException>(() => LoadWith(json));
        Assert.Contains("home: slot 'destination' is a span", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_template_id_fails()
    {
        var json = """{ "language": "zh", "intents": [ { "action": "HVAC_ON", "templates": [ { "id": "on", "sentences": ["开空调"] }, { "id": "on", "sentences": ["打开空调"] } ] } ] }""";
        var ex = Assert.Throws<IntentDataException>(() => LoadWith(json));
        Assert.Equal("test.json: on: template id used twice", ex.Message);
    }

    [Fact]
    public void Invalid_json_names_the_line()
    {
        var ex = Assert.Throws<IntentDataException>(() => LoadWith("{\n  \"language\": \"zh\",\n  \"intents\": [ oops ]\n}"));
        Assert.StartsWith("test.json: line 3: invalid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_key_is_refused()
    {
        var ex = Assert.Throws<IntentDataException>(() => LoadWith("""{ "language": "zh", "intent": [] }"""));
        Assert.Contains("invalid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_language_is_refused()
    {
        var ex = Assert.Throws<IntentDataException>(() => LoadWith("""{ "language": "fr" }"""));
        Assert.Equal("test.json: \"language\" must be \"zh\" or \"en\", not 'fr'", ex.Message);
    }

    [Fact]
    public void Missing_directory_is_refused()
    {
        var ex = Assert.Throws<IntentDataException>(() => DeterministicTier.Load(Path.Combine(_dir, "absent"), Repo.Catalog));
        Assert.Contains("intents directory not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Equally_good_matches_with_different_results_are_ambiguous()
    {
        var json = """
            { "language": "en", "intents": [
              { "action": "HVAC_ON", "templates": [ { "id": "a", "sentences": ["air"] } ] },
              { "action": "HVAC_OFF", "templates": [ { "id": "b", "sentences": ["air"] } ] } ] }
            """;
        var tier = LoadWith(json);
        var result = Assert.IsType<NotUnderstood>(tier.Understand(new Utterance("x", "air", Languages.Of("air", Language.Zh))));
        Assert.Equal("ambiguous: a (HVAC_ON) and b (HVAC_OFF) match equally well", result.Reason);
    }

    [Fact]
    public void Template_language_features_work_together()
    {
        var json = """
            { "language": "zh",
              "prefix": "(请|帮我)",
              "suffix": "(吧|谢谢)",
              "rules": { "turn": "(调到|设为)" },
              "lists": { "z": { "driver": ["主驾"], "rear": ["后排"] } },
              "intents": [
                { "action": "HVAC_ADJUST_TEMPERATURE", "templates": [
                  { "id": "down", "sentences": ["[{z:zone}]温度(降低|调低){-delta}度"] } ] },
                { "action": "HVAC_SET_TEMPERATURE", "templates": [
                  { "id": "set", "sentences": ["[{z:zone}]温度<turn>{temperature}[度]"] } ] } ] }
            """;
        var tier = LoadWith(json);

        var down = Assert.IsType<Understood>(tier.Understand(new Utterance("1", "请帮我后排温度降低两度吧", Languages.Of("请帮我后排温度降低两度吧", Language.Zh))));
        Assert.Equal("""{"zone":"rear","delta":-2}""", down.Parameters.ToJsonString());
        var set = Assert.IsType<Understood>(tier.Understand(new Utterance("2", "温度设为25度谢谢", Languages.Of("温度设为25度谢谢", Language.Zh))));
        Assert.Equal("""{"temperature":25}""", set.Parameters.ToJsonString());
        Assert.IsType<NotUnderstood>(tier.Understand(new Utterance("3", "副驾温度设为25度", Languages.Of("副驾温度设为25度", Language.Zh))));
    }
}
