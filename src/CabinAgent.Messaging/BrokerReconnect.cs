using Polly;
using Polly.Retry;

namespace CabinAgent.Messaging;

/// <summary>
/// How the agent's connection comes back after the broker went away: attempts until one succeeds, the first after
/// <see cref="MqttOptions.ReconnectDelayMs"/>, each wait twice the last up to <see cref="MqttOptions.MaxReconnectDelayMs"/>,
/// no jitter (one agent per broker: nobody to spread out from, and the waits stay what the configuration says).
/// </summary>
public static class BrokerReconnect
{
    /// <param name="onRetry">Called after each failed attempt with its error and the wait before the next one, in ms.</param>
    public static ResiliencePipeline Pipeline(MqttOptions options, Action<string, int> onRetry) =>
        new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // A connect that timed out is an OperationCanceledException too: retried, unless the agent is stopping.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                Delay = TimeSpan.FromMilliseconds(options.ReconnectDelayMs),
                MaxDelay = TimeSpan.FromMilliseconds(options.MaxReconnectDelayMs),
                OnRetry = args =>
                {
                    onRetry(args.Outcome.Exception?.Message ?? "no connection", (int)args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
}
