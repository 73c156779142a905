using CabinAgent.Host.Composition;
using Microsoft.Extensions.Hosting;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The daemon's agent: every lane of the <see cref="AgentRuntime"/> (broker session, outbox, telemetry into the safety
/// layer, its timer and dispatcher, transcripts through the intake into the queue) for the life of the process.
/// </summary>
internal sealed class AgentRuntimeService(AgentRuntime runtime, DaemonReadiness readiness) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await runtime.StartAsync(AgentLanes.Daemon, stoppingToken);
        readiness.MarkStarted();
        try
        {
            await runtime.Completion;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
