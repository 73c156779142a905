using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Actions.Tests;

public class CatalogTests
{
    internal static ActionCatalog Shipped() => ActionCatalog.Load(Path.Combine(AppContext.BaseDirectory, "config", "actions.json"));

    [Fact]
    public void ShippedCatalogHasTheActionsOtherToolsDependOn()
    {
        var catalog = Shipped();
        var expected = new Dictionary<string, string[]>
        {
            ["MUSIC_PLAY"] = ["artist", "song", "genre"],
            ["MUSIC_PAUSE"] = [], ["MUSIC_RESUME"] = [], ["MUSIC_NEXT"] = [], ["MUSIC_PREVIOUS"] = [],
            ["VOLUME_SET"] = ["level"], ["VOLUME_UP"] = ["step"], ["VOLUME_DOWN"] = ["step"],
            ["NAV_NAVIGATE_TO"] = ["destination"], ["NAV_FIND_NEARBY"] = ["category"], ["NAV_CANCEL"] = [],
            ["HVAC_SET_TEMPERATURE"] = ["temperature", "zone"], ["HVAC_ON"] = [], ["HVAC_OFF"] = [], ["HVAC_FAN_SPEED"] = ["level"],
            ["WINDOW_OPEN"] = ["position", "percent"], ["WINDOW_CLOSE"] = ["position"],
            ["SEAT_HEATING"] = ["seat", "level"], ["PHONE_CALL"] = ["contact"], ["STATUS_QUERY"] = ["item"], ["EMERGENCY_CALL"] = ["service"],
        };
        foreach (var (name, parameters) in expected)
        {
            Assert.True(catalog.TryGet(name, out var action), $"{name} missing");
            Assert.Equal(parameters, action.Parameters.Select(p => p.Name).ToArray());
        }
        Assert.Equal(["gas_station", "charging_station", "parking", "restaurant", "rest_area", "hospital"],
            catalog.Get("NAV_FIND_NEARBY").FindParameter("category")!.Enum);
        Assert.Equal(["fuel", "range", "battery", "tire_pressure", "speed", "odometer", "outside_temperature"],
            catalog.Get("STATUS_QUERY").FindParameter("item")!.Enum);
        var temperature = catalog.Get("HVAC_SET_TEMPERATURE").FindParameter("temperature")!;
        Assert.Equal((16.0, 32.0), (temperature.Minimum, temperature.Maximum));
        Assert.Equal((0.0, 100.0), (catalog.Get("VOLUME_SET").FindParameter("level")!.Minimum, catalog.Get("VOLUME_SET").FindParameter("level")!.Maximum));
    }

    [Fact]
    public void EveryCategoryOfTheSeedDocumentsIsCovered()
    {
        var categories = Shipped().Actions.Select(a => a.Category).ToHashSet();
        Assert.Equal(ActionCategories.All.OrderBy(c => c), categories.OrderBy(c => c));
    }

    [Theory]
    [InlineData("""{"actions": []}""", "no actions defined")]
    [InlineData("""{"actions": [{"name": "bad name", "category": "music", "topic": "cmd/x", "responses": {"zh": "a", "en": "b"}}]}""", "UPPER_SNAKE_CASE")]
    [InlineData("""{"actions": [{"name": "A", "category": "weather", "topic": "cmd/x", "responses": {"zh": "a", "en": "b"}}]}""", "unknown category 'weather'")]
    [InlineData("""{"actions": [{"name": "A", "category": "music", "topic": "cmd/#", "responses": {"zh": "a", "en": "b"}}]}""", "must be a plain relative topic")]
    [InlineData("""{"actions": [{"name": "A", "category": "music", "topic": "cmd/x", "responses": {"zh": "a"}}]}""", "responses need both 'zh' and 'en'")]
    [InlineData("""{"actions": [{"name": "A", "category": "music", "topic": "cmd/x", "responses": {"zh": "a", "en": "b"}, "parameters": [{"name": "x", "type": "string", "minimum": 1}]}]}""", "a range needs a numeric type")]
    [InlineData("""{"actions": [{"name": "A", "category": "music", "topic": "cmd/x", "responses": {"zh": "a", "en": "b"}, "unknown": 1}]}""", "invalid JSON")]
    [InlineData("""{"actions": [{"name": "A", "category": "music", "topic": "cmd/x", "responses": {"zh": "a", "en": "b"}}]}""", "messages.not_understood needs both")]
    public void BadCatalogsFailWithTheReason(string json, string reason)
    {
        var ex = Assert.Throws<CatalogException>(() => ActionCatalog.Parse(new MemoryStream(Encoding.UTF8.GetBytes(json)), "test.json"));
        Assert.Contains(reason, ex.Message);
    }

    [Theory]
    [InlineData("MUSIC_PLAY", """{"artist": "周杰伦", "song": "夜曲"}""", "zh", "正在为您播放周杰伦的夜曲")]
    [InlineData("MUSIC_PLAY", """{"song": "Hotel California", "artist": "the Eagles"}""", "en", "Playing Hotel California by the Eagles")]
    [InlineData("NAV_FIND_NEARBY", """{"category": "charging_station"}""", "zh", "正在为您查找附近的充电桩")]
    [InlineData("NAV_FIND_NEARBY", """{"category": "gas_station"}""", "en", "Looking for a nearby gas station")]
    [InlineData("HVAC_SET_TEMPERATURE", """{"temperature": 23.5}""", "zh", "温度已设置为23.5度")]
    [InlineData("WINDOW_OPEN", """{"position": "driver", "percent": 50}""", "en", "driver window opened to 50%")]
    [InlineData("EMERGENCY_CALL", """{}""", "en", "Calling emergency services")]
    public void ResponsesComeFromTheCatalogTemplates(string action, string parameters, string lang, string expected)
    {
        var catalog = Shipped();
        var text = ResponseRenderer.Render(catalog, catalog.Get(action), (JsonObject)JsonNode.Parse(parameters)!, lang);
        Assert.Equal(expected, text);
    }
}
