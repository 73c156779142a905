using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Safety;
using CabinAgent.Understanding;

namespace CabinAgent.Pipeline.Tests;

/// <summary>Captures what the pipeline would put on the bus.</summary>
internal sealed class RecordingOutput : IAgentOutput
{
    public ConcurrentQueue<OutgoingCommand> Commands { get; } = new();
    public ConcurrentQueue<SpokenMessage> Spoken { get; } = new();
    public bool FailPublishes { get; set; }

    public Func<OutgoingCommand, Task<AckResult>?> Acknowledge { get; set; } = _ => null;
    public bool QueueEverything { get; set; }

    public Task<PublishReceipt> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken)
    {
        if (FailPublishes) throw new IOException("broker gone");
        Commands.Enqueue(command);
        return Task.FromResult(new PublishReceipt("vehicle/test/" + command.Action.Topic,
            QueueEverything ? PublishState.Queued : PublishState.Sent, Acknowledge(command)));
    }

    public Task SayAsync(SpokenMessage message, CancellationToken cancellationToken)
    {
        Spoken.Enqueue(message);
        return Task.CompletedTask;
    }
}

/// <summary>A tier whose answer each test chooses; stands in for the real tiers, which have their own tests.</summary>
internal sealed class ScriptedTier(Tier name, Func<Utterance, CancellationToken, Task<TierResult>> answer) : IUnderstandingTier
{
    public Tier Name => name;
    public int Calls;

    public async ValueTask<TierResult> UnderstandAsync(Utterance utterance, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        return await answer(utterance, cancellationToken);
    }

    public static ScriptedTier Always(Tier name, TierResult result) => new(name, (_, _) => Task.FromResult(result));
}

/// <summary>A safety layer scripted per test: the pipeline's handling of each decision is what is tested here.</summary>
internal sealed class ScriptedSafety : ISafetyLayer
{
    public Func<string, PreCheckResult> OnPreCheck { get; set; } = _ => PreCheckResult.Continue;
    public Func<VehicleCommand, GateDecision> OnGate { get; set; } = c => new GateAllow(c, []);

    public PreCheckResult PreCheck(string utteranceId, string text, string? lang, DateTimeOffset now) => OnPreCheck(text);

    public GateDecision Gate(VehicleCommand command, string utteranceId, string lang, DateTimeOffset now) => OnGate(command);
}

internal static class Fixtures
{
    public static readonly ActionCatalog Catalog = ActionCatalog.Load(Path.Combine(AppContext.BaseDirectory, "config", "actions.json"));
    public static readonly CommandSchema Schema = CommandSchema.FromCatalog(Catalog);

    public static Understood Understood(string action, string parameters = "{}", double confidence = 0.9, Language lang = Language.Zh) =>
        new(action, (JsonObject)JsonNode.Parse(parameters)!, confidence, lang);
}
