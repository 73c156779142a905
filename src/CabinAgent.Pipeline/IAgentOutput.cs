using CabinAgent.Actions;

namespace CabinAgent.Pipeline;

/// <summary>Where the pipeline's results go: the vehicle bus (MQTT), or nowhere in a dry run.</summary>
public interface IAgentOutput
{
    /// <summary>
    /// Publishes a validated, gated command on its action topic, or queues it durably when the bus is down.
    /// </summary>
    Task<PublishReceipt> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken);

    /// <summary>Says something to the driver (response topic). Never carries an action.</summary>
    Task SayAsync(SpokenMessage message, CancellationToken cancellationToken);
}

/// <param name="CommandId">Unique per command; consumers deduplicate by it.</param>
/// <param name="Tier">The tier that produced it: deterministic, llm or safety.</param>
public sealed record OutgoingCommand(
    string CommandId, string UtteranceId, string Tier, string Lang, ActionDefinition Action, VehicleCommand Command);

/// <param name="Kind">command, refusal, not_understood, rejected, confirmation, error, alert.</param>
public sealed record SpokenMessage(string UtteranceId, string Kind, string Lang, string Text)
{
    /// <summary>Why the utterance was rejected (kind <c>rejected</c>): what the sender can act on, e.g. <c>busy</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>Why the utterance id the sender gave was replaced by a generated one, or null.</summary>
    public string? IdProblem { get; init; }
}

public enum PublishState
{
    /// <summary>The broker accepted it (QoS 1 PUBACK).</summary>
    Sent,
    /// <summary>The broker is unreachable: kept in the durable outbox, sent in order on reconnect unless it expires.</summary>
    Queued,
    /// <summary>The broker will never take it (refused, or an ill-formed packet): kept in the dead-letter file instead.</summary>
    Undeliverable,
}

/// <param name="Topic">The action topic.</param>
/// <param name="Acknowledgement">When ECU acknowledgements are on: completes with the ECU's answer or a timeout.</param>
/// <param name="Reason">Why an <see cref="PublishState.Undeliverable"/> command could not be sent.</param>
public sealed record PublishReceipt(string Topic, PublishState State, Task<AckResult>? Acknowledgement = null, string? Reason = null);

/// <summary>What the ECU said about a command: ok, a failure with its reason, or nothing in time.</summary>
public sealed record AckResult(string Status, string? Reason = null)
{
    public const string Ok = "ok";
    public const string Failed = "failed";
    public const string Timeout = "timeout";

    public bool IsOk => Status == Ok;
}
