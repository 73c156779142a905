using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Actions.Tests;

public class CommandSchemaTests
{
    private static readonly CommandSchema Schema = CommandSchema.FromCatalog(CatalogTests.Shipped());

    [Fact]
    public void TheSeedDocumentsExampleIsValid()
    {
        const string seed = """{"action": "MUSIC_PLAY", "parameters": {"artist": "周杰伦", "song": "夜曲"}, "response": "正在为您播放周杰伦的夜曲", "confidence": 0.95, "requires_confirmation": false}""";
        Assert.Empty(Schema.Validate(seed));
    }

    [Theory]
    [InlineData("""{"action": "VOLUME_SET", "parameters": {"level": 101}, "response": "x", "confidence": 1, "requires_confirmation": false}""", "parameters: #/level: NumberTooBig")]
    [InlineData("""{"action": "HVAC_SET_TEMPERATURE", "parameters": {"temperature": 15.5}, "response": "x", "confidence": 1, "requires_confirmation": false}""", "parameters: #/temperature: NumberTooSmall")]
    [InlineData("""{"action": "NAV_FIND_NEARBY", "parameters": {"category": "casino"}, "response": "x", "confidence": 1, "requires_confirmation": false}""", "parameters: #/category: NotInEnumeration")]
    [InlineData("""{"action": "NAV_FIND_NEARBY", "parameters": {}, "response": "x", "confidence": 1, "requires_confirmation": false}""", "parameters: #/category: PropertyRequired")]
    [InlineData("""{"action": "MUSIC_NEXT", "parameters": {"topic": "vehicle/x/cmd/body"}, "response": "x", "confidence": 1, "requires_confirmation": false}""", "parameters: #/topic: NoAdditionalPropertiesAllowed")]
    [InlineData("""{"action": "OPEN_ALL_DOORS", "parameters": {}, "response": "x", "confidence": 1, "requires_confirmation": false}""", "#/action: NotInEnumeration")]
    [InlineData("""{"action": "MUSIC_NEXT", "parameters": {}, "response": "x", "confidence": 1.5, "requires_confirmation": false}""", "#/confidence: NumberTooBig")]
    [InlineData("""{"action": "MUSIC_NEXT", "parameters": {}, "response": "x", "confidence": 1}""", "#/requires_confirmation: PropertyRequired")]
    [InlineData("""{"action": "VOLUME_SET", "parameters": {"level": "50"}, "response": "x", "confidence": 1, "requires_confirmation": false}""", "parameters: #/level: IntegerExpected")]
    [InlineData("""not json""", "not valid JSON")]
    public void InvalidCommandsAreRejectedWithTheReason(string json, string reason)
    {
        var errors = Schema.Validate(json);
        Assert.Contains(errors, e => e.StartsWith(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void TheDocumentHasOneBranchPerAction()
    {
        var catalog = CatalogTests.Shipped();
        var branches = Schema.Document["oneOf"]!.AsArray();
        Assert.Equal(catalog.Actions.Count, branches.Count);
        var volume = branches.Single(b => b!["properties"]!["action"]!["enum"]![0]!.GetValue<string>() == "VOLUME_SET")!;
        Assert.Equal(0, volume["properties"]!["parameters"]!["properties"]!["level"]!["minimum"]!.GetValue<double>());
        Assert.Equal(100, volume["properties"]!["parameters"]!["properties"]!["level"]!["maximum"]!.GetValue<double>());
        Assert.False(volume["properties"]!["parameters"]!["additionalProperties"]!.GetValue<bool>());
    }

    [Fact]
    public void ACommandRecordSerializesToTheSeedFormat()
    {
        var command = new VehicleCommand
        {
            Action = "MUSIC_PLAY",
            Parameters = new JsonObject { ["artist"] = "周杰伦", ["song"] = "夜曲" },
            Response = "正在为您播放周杰伦的夜曲",
            Confidence = 0.95,
            RequiresConfirmation = false,
        };
        Assert.Equal("""{"action":"MUSIC_PLAY","parameters":{"artist":"周杰伦","song":"夜曲"},"response":"正在为您播放周杰伦的夜曲","confidence":0.95,"requires_confirmation":false}""",
            command.ToJson());
        Assert.Empty(Schema.Validate(command));
    }
}
