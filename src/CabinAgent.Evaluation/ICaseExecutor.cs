using System.Text.Json.Nodes;
using CabinAgent.Safety;

namespace CabinAgent.Evaluation;

/// <summary>Runs one case and reports what the agent did. Implementations must not throw for a bad case: they return an error outcome.</summary>
public interface ICaseExecutor
{
    ValueTask<CaseOutcome> RunAsync(EvalCase evalCase, CancellationToken cancellationToken);
}

/// <summary>
/// A safety layer for one case: fresh state, so a pending confirmation or an alert hold from one case never leaks into
/// the next. The case's <c>vehicle_state</c> is applied before the utterance.
/// </summary>
public interface ICaseSafety
{
    ISafetyLayer Layer { get; }

    /// <summary>Feeds the telemetry snapshot into the layer, as if it had just arrived on <c>telemetry/*</c>.</summary>
    void ApplyVehicleState(JsonObject state, DateTimeOffset at);

    /// <summary>The alert kinds raised since the state was applied, once the layer has had <paramref name="until"/> to evaluate its rules.</summary>
    IReadOnlyList<string> RaisedAlerts(DateTimeOffset until);
}

/// <summary>Makes a fresh <see cref="ICaseSafety"/> per case.</summary>
public interface ICaseSafetyFactory
{
    /// <summary>Said in the report: which safety layer ran, and whether it sees the vehicle state.</summary>
    string Description { get; }

    /// <summary>False while only a stand-in layer exists: alerts and state-dependent refusals cannot happen.</summary>
    bool AppliesVehicleState { get; }

    ICaseSafety Create();
}

/// <summary>The vehicle state a case without <c>vehicle_state</c> runs in: parked, everything in order.</summary>
public static class DefaultVehicleState
{
    // Parsed from text, not built from C# numbers: a parsed number reads as int or double alike, so a consumer may
    // ask for speed_kmh as a double even where the default is written 0.
    public static JsonObject Create() => JsonNode.Parse("""
        {"speed_kmh": 0, "speed_limit_kmh": 60, "gear": "P", "driver_fatigue_level": 0, "driving_minutes": 0,
         "seat_belt_driver": true, "seat_belt_passenger": true, "door_open": false,
         "fuel_percent": 60, "battery_percent": 80, "tire_pressure_kpa": 240}
        """)!.AsObject();

    /// <summary>The case's state over the defaults: a case names only the signals it is about.</summary>
    public static JsonObject For(EvalCase c)
    {
        var state = Create();
        if (c.VehicleState is not null)
            foreach (var (key, value) in c.VehicleState)
                state[key] = value?.DeepClone();
        return state;
    }
}
