using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;

namespace CabinAgent.Messaging;

/// <summary>
/// Matches ECU acknowledgements to the commands waiting for them, by correlation data or <c>command_id</c>; a command
/// with no answer within the timeout completes as <see cref="AckResult.Timeout"/>. An ack counts only on the ack topic
/// of the domain its command went to (<see cref="TopicMap.AckFor"/>): the broker lets only that domain's ECU write
/// there, so a client that may not speak for the climate ECU cannot make the driver hear that the climate failed.
/// </summary>
public sealed class AckTracker(TimeSpan timeout, TimeProvider time, RejectedInputLog? rejected = null)
{
    private sealed record Pending(string AckTopic, TaskCompletionSource<AckResult> Completion);

    private readonly ConcurrentDictionary<string, Pending> _waiting = new(StringComparer.Ordinal);

    public int Waiting => _waiting.Count;

    /// <param name="ackTopic">The only topic an answer to this command is taken from.</param>
    public Task<AckResult> Expect(string commandId, string ackTopic)
    {
        var pending = new Pending(ackTopic, new TaskCompletionSource<AckResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _waiting[commandId] = pending;
        var timer = time.CreateTimer(_ =>
        {
            if (_waiting.TryRemove(KeyValuePair.Create(commandId, pending)))
                pending.Completion.TrySetResult(new AckResult(AckResult.Timeout));
        }, null, timeout, Timeout.InfiniteTimeSpan);
        pending.Completion.Task.ContinueWith(_ => timer.Dispose(), TaskScheduler.Default);
        return pending.Completion.Task;
    }

    /// <summary>Stops waiting (the publish itself failed).</summary>
    public void Forget(string commandId)
    {
        if (_waiting.TryRemove(commandId, out var pending))
            pending.Completion.TrySetCanceled();
    }

    /// <summary>
    /// Handles one message from an ack topic: <c>{"command_id", "status": "ok"|"failed", "reason"?}</c>.
    /// Returns why it was ignored (also counted and logged, rate-limited), or null when it completed a waiting command.
    /// </summary>
    public string? OnAck(string topic, byte[] payload, string? correlationId)
    {
        string? ignored;
        try
        {
            ignored = Match(topic, payload, correlationId);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json throws this, not JsonException, for a string escape that is not text ("\ud800").
            ignored = $"ack on {topic} holds a string that is not valid text (an unpaired surrogate escape)";
        }
        if (ignored is not null) rejected?.Reject(ignored);
        return ignored;
    }

    private string? Match(string topic, byte[] payload, string? correlationId)
    {
        JsonObject? obj;
        try
        {
            obj = JsonNode.Parse(payload, documentOptions: TranscriptValidator.StrictJson) as JsonObject;
        }
        catch (JsonException ex)
        {
            return $"ack on {topic} is not valid JSON ({ex.Message})";
        }
        if (obj is null) return $"ack on {topic} is not a JSON object";
        var commandId = correlationId ?? (obj["command_id"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null);
        if (commandId is null) return $"ack on {topic} names no command";
        var status = obj["status"] is JsonValue sv && sv.TryGetValue<string>(out var st) ? st : null;
        if (status is not (AckResult.Ok or AckResult.Failed)) return $"ack for {commandId} has no valid status";
        if (!_waiting.TryGetValue(commandId, out var pending)) return $"no command {commandId} is waiting for an ack";
        // The command keeps waiting: its own ECU's answer (or the timeout) still decides.
        if (!string.Equals(pending.AckTopic, topic, StringComparison.Ordinal))
            return $"ack for {commandId} came on {topic}, not on its domain's {pending.AckTopic}";
        if (!_waiting.TryRemove(KeyValuePair.Create(commandId, pending))) return $"no command {commandId} is waiting for an ack";
        var reason = obj["reason"] is JsonValue rv && rv.TryGetValue<string>(out var r) ? r : null;
        pending.Completion.TrySetResult(new AckResult(status, reason));
        return null;
    }
}
