using CabinAgent.Actions;

namespace CabinAgent.Pipeline;

/// <summary>Where the pipeline's results go: the vehicle bus (MQTT), or nowhere in a dry run.</summary>
public interface IAgentOutput
{
    /// <summary>Publishes a validated, gated command on its action topic. Returns the topic used.</summary>
    Task<string> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken);

    /// <summary>Says something to the driver (response topic). Never carries an action.</summary>
    Task SayAsync(SpokenMessage message, CancellationToken cancellationToken);
}

/// <param name="CommandId">Unique per command; consumers deduplicate by it.</param>
/// <param name="Tier">The tier that produced it: deterministic, llm or safety.</param>
public sealed record OutgoingCommand(
    string CommandId, string UtteranceId, string Tier, string Lang, ActionDefinition Action, VehicleCommand Command);

/// <param name="Kind">command, refusal, not_understood, rejected, confirmation, error, alert.</param>
public sealed record SpokenMessage(string UtteranceId, string Kind, string Lang, string Text);
