using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Safety.Tests;

/// <summary>A safety layer on a fake clock with an in-memory outbox, loaded from the repository's config files.</summary>
internal sealed class Harness
{
    public const long StartMs = 1_700_000_000_000;

    private static string ConfigPath(string file) => Path.Combine(AppContext.BaseDirectory, "config", file);

    public static readonly ActionCatalog Catalog = ActionCatalog.Load(ConfigPath("actions.json"));
    public static readonly EmergencyDetector Detector = EmergencyDetector.LoadConfig(Path.Combine(AppContext.BaseDirectory, "config"));

    public static SafetyOptions LoadOptions() => SafetyOptions.Load(ConfigPath("safety.json"));

    /// <summary>The repository's safety.json with an edit applied (to test other thresholds).</summary>
    public static SafetyOptions OptionsWith(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(ConfigPath("safety.json")))!.AsObject();
        edit(json);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json.ToJsonString()));
        return SafetyOptions.Parse(stream);
    }

    public Harness(SafetyOptions? options = null, Microsoft.Extensions.Logging.ILogger? log = null)
    {
        Options = options ?? LoadOptions();
        Clock = new SafetyReplayClock(StartMs);
        Outbox = new RecordingOutbox();
        Layer = new SafetyLayer(Options, Detector, Catalog, Outbox, Clock, log: log);
    }

    public SafetyOptions Options { get; }
    public SafetyReplayClock Clock { get; }
    public RecordingOutbox Outbox { get; }
    public SafetyLayer Layer { get; }

    public static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(StartMs + ms);

    /// <summary>Sends raw payload text on <c>telemetry/&lt;signal&gt;</c> at <paramref name="ms"/> after the start.</summary>
    public IngestResult Raw(string signal, string payload, long ms, TelemetryOrigin origin = TelemetryOrigin.Live)
    {
        Layer.AdvanceTo(At(ms));
        return Layer.IngestTelemetry("telemetry/" + signal, Encoding.UTF8.GetBytes(payload), At(ms), origin);
    }

    public IngestResult Set(string signal, double value, long ms) =>
        Raw(signal, "{\"value\":" + value.ToString(CultureInfo.InvariantCulture) + "}", ms);

    public IngestResult Set(string signal, bool value, long ms) => Raw(signal, "{\"value\":" + (value ? "true" : "false") + "}", ms);

    public IngestResult Gear(string gear, long ms) => Raw(TelemetrySignals.Gear, "{\"value\":\"" + gear + "\"}", ms);

    public void Advance(long ms) => Layer.AdvanceTo(At(ms));

    public IReadOnlyList<SafetyAlert> Alerts(string kind) => Outbox.Alerts.Where(a => a.Kind == kind).ToList();

    public static VehicleCommand Command(string action, JsonObject? parameters = null, string lang = "zh")
    {
        var definition = Catalog.Get(action);
        parameters ??= new JsonObject();
        return new VehicleCommand
        {
            Action = action,
            Parameters = parameters,
            Response = ResponseRenderer.Render(Catalog, definition, parameters, lang),
            Confidence = 0.9,
            RequiresConfirmation = definition.RequiresConfirmation,
        };
    }
}
