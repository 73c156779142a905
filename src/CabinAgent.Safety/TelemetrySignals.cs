namespace CabinAgent.Safety;

/// <summary>How a signal's <c>value</c> is written in its payload.</summary>
public enum SignalKind
{
    /// <summary>A JSON number.</summary>
    Number,
    /// <summary>A JSON number with no fractional part.</summary>
    Integer,
    /// <summary>A JSON <c>true</c>/<c>false</c>.</summary>
    Boolean,
    /// <summary>A JSON string, one of <c>P R N D</c>; stored as its index in <see cref="TelemetrySignals.Gears"/>.</summary>
    Gear,
}

/// <param name="Index">Position in <see cref="TelemetrySignals.All"/>; the state store is indexed by it.</param>
public sealed record SignalDefinition(int Index, string Name, SignalKind Kind, double Min, double Max, string Unit, string Description);

/// <summary>
/// The telemetry signals the lead fixed for every team: the name is both the topic suffix
/// (<c>telemetry/&lt;name&gt;</c>) and the key in a <c>vehicle_state</c> snapshot.
/// Ranges are physical plausibility limits: a value outside them is a broken sender, not a fact.
/// </summary>
public static class TelemetrySignals
{
    public const string SpeedKmh = "speed_kmh";
    public const string SpeedLimitKmh = "speed_limit_kmh";
    public const string Gear = "gear";
    public const string DriverFatigueLevel = "driver_fatigue_level";
    public const string DrivingMinutes = "driving_minutes";
    public const string SeatBeltDriver = "seat_belt_driver";
    public const string SeatBeltPassenger = "seat_belt_passenger";
    public const string DoorOpen = "door_open";
    public const string FuelPercent = "fuel_percent";
    public const string BatteryPercent = "battery_percent";
    public const string TirePressureKpa = "tire_pressure_kpa";
    // The crash signal (eCall) and the last position sent with it.
    public const string AirbagDeployed = "airbag_deployed";
    public const string CrashDetected = "crash_detected";
    public const string PositionLat = "position_lat";
    public const string PositionLon = "position_lon";

    public const string TopicPrefix = "telemetry/";

    public static readonly IReadOnlyList<string> Gears = ["P", "R", "N", "D"];

    public static readonly IReadOnlyList<SignalDefinition> All =
    [
        new(0, SpeedKmh, SignalKind.Number, 0, 400, "km/h", "vehicle speed"),
        new(1, SpeedLimitKmh, SignalKind.Number, 0, 300, "km/h", "posted speed limit; 0 = no posted limit known"),
        new(2, Gear, SignalKind.Gear, 0, 3, "", "gear selector: P, R, N or D"),
        new(3, DriverFatigueLevel, SignalKind.Integer, 0, 3, "level", "driver-monitoring ECU: 0 alert, 1 mild, 2 drowsy, 3 severe"),
        new(4, DrivingMinutes, SignalKind.Number, 0, 10_000, "min", "continuous driving time"),
        new(5, SeatBeltDriver, SignalKind.Boolean, 0, 1, "", "true = driver belt fastened"),
        new(6, SeatBeltPassenger, SignalKind.Boolean, 0, 1, "", "true = passenger belt fastened (or seat empty)"),
        new(7, DoorOpen, SignalKind.Boolean, 0, 1, "", "true = any door open"),
        new(8, FuelPercent, SignalKind.Number, 0, 100, "%", "fuel level"),
        new(9, BatteryPercent, SignalKind.Number, 0, 100, "%", "traction/12 V battery state of charge"),
        new(10, TirePressureKpa, SignalKind.Number, 0, 1000, "kPa", "lowest tire pressure"),
        new(11, AirbagDeployed, SignalKind.Boolean, 0, 1, "", "true = an airbag has deployed (airbag ECU)"),
        new(12, CrashDetected, SignalKind.Boolean, 0, 1, "", "true = the crash sensor detected an impact"),
        new(13, PositionLat, SignalKind.Number, -90, 90, "deg", "vehicle latitude, WGS-84"),
        new(14, PositionLon, SignalKind.Number, -180, 180, "deg", "vehicle longitude, WGS-84"),
    ];

    private static readonly Dictionary<string, SignalDefinition> ByName =
        All.ToDictionary(s => s.Name, StringComparer.Ordinal);

    private static readonly Dictionary<string, SignalDefinition>.AlternateLookup<ReadOnlySpan<char>> BySpan =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    public static bool TryGet(string name, out SignalDefinition signal) => ByName.TryGetValue(name, out signal!);

    /// <summary>Lookup without allocating a substring (the MQTT path passes a slice of the topic).</summary>
    public static bool TryGet(ReadOnlySpan<char> name, out SignalDefinition signal) => BySpan.TryGetValue(name, out signal!);

    public static SignalDefinition Get(string name) =>
        ByName.TryGetValue(name, out var s) ? s : throw new ArgumentException($"unknown telemetry signal '{name}'", nameof(name));
}
