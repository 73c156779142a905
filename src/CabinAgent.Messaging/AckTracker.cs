using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;

namespace CabinAgent.Messaging;

/// <summary>
/// Matches ECU acknowledgements on <c>agent/ack</c> to the commands waiting for them, by correlation data or
/// <c>command_id</c>; a command with no answer within the timeout completes as <see cref="AckResult.Timeout"/>.
/// </summary>
public sealed class AckTracker(TimeSpan timeout, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<AckResult>> _waiting = new(StringComparer.Ordinal);

    public int Waiting => _waiting.Count;

    public Task<AckResult> Expect(string commandId)
    {
        var completion = new TaskCompletionSource<AckResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[commandId] = completion;
        var timer = time.CreateTimer(_ =>
        {
            if (_waiting.TryRemove(commandId, out var pending))
                pending.TrySetResult(new AckResult(AckResult.Timeout));
        }, null, timeout, Timeout.InfiniteTimeSpan);
        completion.Task.ContinueWith(_ => timer.Dispose(), TaskScheduler.Default);
        return completion.Task;
    }

    /// <summary>Stops waiting (the publish itself failed).</summary>
    public void Forget(string commandId)
    {
        if (_waiting.TryRemove(commandId, out var pending))
            pending.TrySetCanceled();
    }

    /// <summary>
    /// Handles one message from the ack topic: <c>{"command_id", "status": "ok"|"failed", "reason"?}</c>.
    /// Returns why it was ignored, or null when it completed a waiting command.
    /// </summary>
    public string? OnAck(byte[] payload, string? correlationId)
    {
        JsonObject? obj;
        try
        {
            obj = JsonNode.Parse(payload, documentOptions: TranscriptValidator.StrictJson) as JsonObject;
        }
        catch (JsonException ex)
        {
            return $"ack is not valid JSON ({ex.Message})";
        }
        if (obj is null) return "ack is not a JSON object";
        var commandId = correlationId ?? (obj["command_id"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null);
        if (commandId is null) return "ack names no command";
        var status = obj["status"] is JsonValue sv && sv.TryGetValue<string>(out var st) ? st : null;
        if (status is not (AckResult.Ok or AckResult.Failed)) return $"ack for {commandId} has no valid status";
        if (!_waiting.TryRemove(commandId, out var pending)) return $"no command {commandId} is waiting for an ack";
        var reason = obj["reason"] is JsonValue rv && rv.TryGetValue<string>(out var r) ? r : null;
        pending.TrySetResult(new AckResult(status, reason));
        return null;
    }
}
