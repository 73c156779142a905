using CabinAgent.Messaging;
using CabinAgent.Safety;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Daemon;

/// <summary>When the agent's start-up is done (broker connected, or the degraded start decided): what systemd's READY waits for.</summary>
internal sealed class DaemonReadiness
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Started => _started.Task;

    public void MarkStarted() => _started.TrySetResult();
}

/// <summary>
/// The agent's side of a Type=notify unit with WatchdogSec: READY=1 once the safety layer and the pipeline are running
/// and the broker is connected (or its absence is known and commands queue), STATUS= with what is degraded, STOPPING=1
/// on the way out, and WATCHDOG=1 at half the unit's interval — but only while the safety timer goes round and the
/// understanding queue is not stuck on one utterance, so systemd restarts an agent that hangs instead of feeding a
/// dead one.
/// </summary>
internal sealed class SystemdService(
    DaemonReadiness readiness,
    SafetyModule safety,
    UtteranceQueue queue,
    MqttConnection connection,
    IOptions<MqttOptions> mqtt,
    ILogger<SystemdService> logger) : BackgroundService
{
    /// <summary>The safety timer goes round every tick (100 ms by default); this many seconds without a round is a hang.</summary>
    internal static readonly TimeSpan SafetyTimerSilence = TimeSpan.FromSeconds(5);

    /// <summary>No utterance legitimately takes this long beyond its ECU acknowledgement wait: a hang.</summary>
    internal static readonly TimeSpan UtteranceHang = TimeSpan.FromSeconds(30);

    private readonly SystemdNotifier? _notifier = SystemdNotifier.FromEnvironment();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_notifier is null) return;
        try
        {
            await readiness.Started.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        var status = Status();
        _notifier.Send($"READY=1\nSTATUS={status}");
        logger.LogInformation("Told systemd: ready ({Status})", status);

        if (SystemdNotifier.WatchdogInterval() is not { } interval) return;
        var period = interval / 2;
        logger.LogInformation("Feeding the systemd watchdog every {Period} ms while the safety timer and the pipeline are alive",
            (long)period.TotalMilliseconds);
        using var timer = new PeriodicTimer(period);
        var lastStatus = status;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var hang = Hang();
                status = hang ?? Status();
                if (hang is null) _notifier.Send(status == lastStatus ? "WATCHDOG=1" : $"WATCHDOG=1\nSTATUS={status}");
                else if (status != lastStatus) _notifier.Send($"STATUS={status}");
                if (hang is not null && status != lastStatus)
                    logger.LogCritical("Not feeding the systemd watchdog: {Hang}", hang);
                lastStatus = status;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Why the agent is hung, or null while it is alive.</summary>
    internal string? Hang()
    {
        var tick = safety.Layer.SinceLastTick;
        if (tick is null) return "hung: the safety timer has not started";
        if (tick > SafetyTimerSilence) return $"hung: the safety timer has not run for {tick.Value.TotalSeconds:0.0} s";
        var limit = UtteranceHang + TimeSpan.FromMilliseconds(mqtt.Value.AckTimeoutMs);
        if (queue.BusyFor is { } busy && busy > limit)
            return $"hung: one utterance has been in the pipeline for {busy.TotalSeconds:0} s";
        return null;
    }

    private string Status() => connection.IsConnected ? "listening" : "degraded: broker unreachable, commands queue in the outbox";

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _notifier?.Send("STOPPING=1");
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _notifier?.Dispose();
        base.Dispose();
    }
}
