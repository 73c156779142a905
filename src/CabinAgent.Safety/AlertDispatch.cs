using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace CabinAgent.Safety;

/// <summary>
/// Where the Host sends what the safety layer has to say. Implemented over MQTT by the Host:
/// <see cref="PublishAlertAsync"/> publishes <see cref="SafetyAlert.ToJson"/> on <c>safety/alert</c> and speaks
/// <see cref="SafetyAlert.Spoken"/> on <c>agent/response</c>; <see cref="SpeakAsync"/> only speaks.
/// The task completes when the publish call has returned (latency is measured to that point).
/// Called from one consumer task only, never from the evaluation path.
/// </summary>
public interface IAlertSink
{
    ValueTask PublishAlertAsync(SafetyAlert alert, CancellationToken cancellationToken);

    ValueTask SpeakAsync(SpokenNotice notice, CancellationToken cancellationToken);
}

/// <summary>
/// Non-blocking hand-off from evaluation to the sink. <see cref="TryPost"/> returns at once: false means "full",
/// and the caller keeps the item due and retries (nothing is dropped, evaluation never waits).
/// </summary>
public interface IAlertOutbox
{
    bool TryPost(SafetyAlert alert);

    bool TryPost(SpokenNotice notice);
}

/// <summary>
/// Checks each path's latency against its budget; every miss is logged and counted.
/// Thread-safe. The pipeline calls <see cref="Record"/> with path <c>emergency</c> after publishing an
/// <c>EMERGENCY_CALL</c> (from the end of the transcript to the publish call returning).
/// </summary>
public sealed class LatencyBudgets(SafetyOptions options, SafetyCounters counters, ILogger log)
{
    public const string EmergencyPath = "emergency";

    /// <returns>True when within budget.</returns>
    public bool Record(string path, TimeSpan elapsed)
    {
        var budget = options.BudgetsMs.TryGetValue(path, out var ms) ? TimeSpan.FromMilliseconds(ms) : TimeSpan.FromSeconds(1);
        counters.Increment($"{CounterNames.BudgetChecked}.{path}");
        if (elapsed <= budget) return true;
        counters.Increment($"{CounterNames.BudgetMiss}.{path}");
        log.LogWarning("latency budget missed on {Path}: {ElapsedMs:0.0} ms > {BudgetMs} ms", path, elapsed.TotalMilliseconds, budget.TotalMilliseconds);
        return false;
    }
}

/// <summary>
/// The production outbox: a bounded channel with its own consumer task that calls the <see cref="IAlertSink"/>.
/// <para>Why bounded with "fail the write" and not drop-oldest: every item is a distinct thing the driver must hear
/// (a re-alert is the reminder that the condition persists; a door alert must not be displaced by a flood of
/// overspeed ones). The rules already bound the rate (one alert per rule per re-alert interval), so the queue only
/// fills when the sink is stuck; then <see cref="TryPost"/> fails, the rule keeps the alert due and retries
/// every 100 ms, the miss is counted, and evaluation is never blocked. When the sink recovers the alert goes out,
/// late, and its latency-budget miss is recorded.</para>
/// </summary>
public sealed class ChannelAlertDispatcher : IAlertOutbox
{
    /// <summary>An alert or notice, with when it was posted and how late it already was then.</summary>
    private readonly record struct Posted(object Item, long PostedAt, TimeSpan LagAtPost);

    private readonly Channel<Posted> _channel;
    private readonly IAlertSink _sink;
    private readonly LatencyBudgets _budgets;
    private readonly SafetyCounters _counters;
    private readonly TimeProvider _clock;
    private readonly TimeProvider _latencyClock;
    private readonly ILogger _log;
    private readonly DispatchOptions _options;
    private readonly ResiliencePipeline _publishRetry;

    /// <param name="clock">The rules' clock, which <see cref="SafetyAlert.TriggeredAt"/> is on.</param>
    /// <param name="latencyClock">The clock the wait between posting and delivery is measured on; by default
    /// <paramref name="clock"/>. A replay passes the system clock: its trace time jumps ahead with the next lines while an
    /// alert waits for the sink, and that jump is not latency.</param>
    public ChannelAlertDispatcher(IAlertSink sink, SafetyOptions options, LatencyBudgets budgets, SafetyCounters counters,
        TimeProvider clock, ILogger log, TimeProvider? latencyClock = null)
    {
        _options = options.Dispatch;
        _channel = Channel.CreateBounded<Posted>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then returns false instead of waiting or dropping
            SingleReader = true,
        });
        _sink = sink;
        _budgets = budgets;
        _counters = counters;
        _clock = clock;
        _latencyClock = latencyClock ?? clock;
        _log = log;
        _publishRetry = PublishRetry(_options, clock, log);
    }

    /// <summary>
    /// A failed publish is tried again after <see cref="DispatchOptions.RetryDelayMs"/>, up to
    /// <see cref="DispatchOptions.PublishAttempts"/> attempts in all; the waits run on the rules' clock, so a replayed
    /// trace retries at the same instants every time.
    /// </summary>
    private static ResiliencePipeline PublishRetry(DispatchOptions options, TimeProvider clock, ILogger log) =>
        options.PublishAttempts <= 1
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder { TimeProvider = clock }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex
                        && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
                    MaxRetryAttempts = options.PublishAttempts - 1,
                    BackoffType = DelayBackoffType.Constant,
                    UseJitter = false,
                    Delay = TimeSpan.FromMilliseconds(options.RetryDelayMs),
                    OnRetry = args =>
                    {
                        log.LogWarning(args.Outcome.Exception, "safety output publish failed (attempt {Attempt}); retrying", args.AttemptNumber + 1);
                        return ValueTask.CompletedTask;
                    },
                })
                .Build();

    public bool TryPost(SafetyAlert alert) =>
        _channel.Writer.TryWrite(new Posted(alert, _latencyClock.GetTimestamp(), _clock.GetUtcNow() - alert.TriggeredAt));

    public bool TryPost(SpokenNotice notice) => _channel.Writer.TryWrite(new Posted(notice, _latencyClock.GetTimestamp(), TimeSpan.Zero));

    /// <summary>Items waiting for the sink.</summary>
    public int Pending => _channel.Reader.Count;

    /// <summary>The consumer loop; runs until cancelled. Start it once (the Host runs it as a background task).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (var item in _channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            await DeliverAsync(item, cancellationToken).ConfigureAwait(false);
    }

    private async Task DeliverAsync(Posted posted, CancellationToken ct)
    {
        var item = posted.Item;
        try
        {
            await _publishRetry.ExecuteAsync(async token =>
            {
                if (item is SafetyAlert alert)
                {
                    await _sink.PublishAlertAsync(alert, token).ConfigureAwait(false);
                    _counters.Increment(CounterNames.AlertsPublished);
                    // Due → posted on the rules' clock, then posted → published on the latency clock.
                    _budgets.Record(alert.Kind, posted.LagAtPost + _latencyClock.GetElapsedTime(posted.PostedAt));
                }
                else if (item is SpokenNotice notice)
                {
                    await _sink.SpeakAsync(notice, token).ConfigureAwait(false);
                }
            }, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _counters.Increment(CounterNames.AlertsPublishFailed);
            _log.LogError(ex, "safety output could not be published after {Attempts} attempts: {Item}", _options.PublishAttempts, item);
        }
    }
}

/// <summary>An outbox that keeps everything in order, in memory: for replay, tests and tools. Thread-safe.</summary>
public sealed class RecordingOutbox : IAlertOutbox
{
    private readonly List<object> _items = [];
    private readonly Lock _gate = new();

    /// <summary>When false, posts fail as if the queue were full (to test the retry path).</summary>
    public bool Accepting { get; set; } = true;

    public bool TryPost(SafetyAlert alert) => Add(alert);

    public bool TryPost(SpokenNotice notice) => Add(notice);

    private bool Add(object item)
    {
        if (!Accepting) return false;
        lock (_gate) _items.Add(item);
        return true;
    }

    public IReadOnlyList<SafetyAlert> Alerts { get { lock (_gate) return _items.OfType<SafetyAlert>().ToList(); } }

    public IReadOnlyList<SpokenNotice> Notices { get { lock (_gate) return _items.OfType<SpokenNotice>().ToList(); } }

    /// <summary>Takes everything posted so far, in order, and empties the outbox.</summary>
    public IReadOnlyList<object> Drain()
    {
        lock (_gate)
        {
            var items = _items.ToList();
            _items.Clear();
            return items;
        }
    }
}
