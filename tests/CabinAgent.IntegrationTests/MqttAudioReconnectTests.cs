using CabinAgent.Tests.Shared;
using System.Buffers.Binary;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Host.Daemon;
using CabinAgent.Messaging;
using CabinAgent.Speech;
using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// The MQTT audio source on the agent's own connection (as the composition root puts them together) against a real
/// mosquitto that is stopped and started again on the same port: audio before and after is received, the connection
/// reconnects and resubscribes the audio topic, and the utterance cut by the loss is ended there — nothing from before
/// the restart reaches an utterance after it.
/// </summary>
[Trait("Category", "Fault")]
public class MqttAudioReconnectTests
{
    private const string Topic = "vehicle/test/audio/in"; // TopicMap's audio topic for Mqtt:VehicleId "test"
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static float[] Tone(double hz, int ms) =>
        Enumerable.Range(0, 16 * ms).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * hz * i / 16_000))).ToArray();

    private static float[] Silence(int ms) => new float[16 * ms];

    private static byte[] Pcm16(float[] samples)
    {
        var bytes = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(i * 2), (short)Math.Round(samples[i] * 32767));
        return bytes;
    }

    /// <summary>Exactly what the source yields for 16 kHz mono s16le.</summary>
    private static float[] Decoded(byte[] pcm)
    {
        var samples = new float[pcm.Length / 2];
        for (var i = 0; i < samples.Length; i++)
            samples[i] = BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(i * 2)) / 32768f;
        return samples;
    }

    private static int SampleAt(TimeSpan t) => (int)Math.Round(t.TotalMilliseconds * 16);

    /// <summary>The cockpit front-end: 20 ms chunks, QoS 1 so the broker has each one before the next.</summary>
    private static async Task PublishAsync(int port, byte[] pcm, bool endOfUtterance, CancellationToken ct)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId($"front-end-{Guid.NewGuid():N}").Build(), ct);
        for (var i = 0; i < pcm.Length; i += 640)
            await client.PublishBinaryAsync(Topic, pcm[i..Math.Min(pcm.Length, i + 640)], MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken: ct);
        if (endOfUtterance)
            await client.PublishBinaryAsync(Topic, [], MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken: ct);
        await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > Patience) throw new TimeoutException($"gave up waiting for: {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task The_mqtt_audio_source_survives_a_broker_restart_and_never_glues_audio_across_it()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var port = broker.Port;
        var log = new ListLogger();
        var configuration = AgentComposition.BuildConfiguration(null, new Dictionary<string, string?>
        {
            ["Mqtt:Broker"] = broker.Url,
            ["Mqtt:ReconnectDelayMs"] = "100",
            ["Mqtt:MaxReconnectDelayMs"] = "1000",
            ["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath(),
            ["Agent:Tiers"] = "deterministic",
            ["Speech:Input:Kind"] = "mqtt",
            ["Mqtt:VehicleId"] = "test", // the audio topic follows the vehicle: vehicle/test/audio/in
        });
        await using var services = CliSupport.BuildAgent(configuration, verbose: false,
            s => s.Configure<SpeechOptions>(configuration.GetSection(SpeechOptions.SectionName)));
        await services.GetRequiredService<MqttConnection>().ConnectAsync(CancellationToken.None);
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SpeechOptions>>().Value.Input;
        await using var source = (MqttAudioSource)AudioSources.Create(options, log, services.GetRequiredService<IAudioFeed>());
        var status = new SpeechStatus(typeof(MqttAudioReconnectTests).Assembly.Location); // any existing file: speech on
        status.Watch(source);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));

        // The consumer: every chunk in order (an empty one is a break) through the endpointer, as the daemon does.
        var chunks = new List<float[]>();
        var segments = new List<SpeechSegment>();
        var endpointer = new Endpointer();
        var consumer = Task.Run(async () =>
        {
            await foreach (var chunk in source.ReadAsync(cts.Token))
            {
                lock (chunks)
                {
                    chunks.Add(chunk.ToArray());
                    segments.AddRange(chunk.IsEmpty ? endpointer.Flush() : endpointer.Push(chunk.Span));
                }
            }
        });
        int Received() { lock (chunks) return chunks.Sum(c => c.Length); }
        int Breaks() { lock (chunks) return chunks.Count(c => c.Length == 0); }

        await source.Subscribed.WaitAsync(cts.Token);
        Assert.Equal(("speech", "listening", (string?)null), status.Report());

        // Before: speech still going on when the broker goes away (no end-of-utterance payload).
        var before = Pcm16([.. Silence(300), .. Tone(440, 700)]);
        await PublishAsync(port, before, endOfUtterance: false, cts.Token);
        await Until(() => Received() == before.Length / 2, "the audio published before the restart");

        await broker.StopAsync();
        await Until(() => source.ConnectionState == AudioConnectionState.Reconnecting, "the source to notice the broker is gone");
        await Until(() => Breaks() == 1, "the utterance in progress to be ended at the loss");
        var down = status.Report();
        Assert.Equal(("speech", "reconnecting"), (down.Name, down.State));
        Assert.StartsWith($"audio source mqtt:{Topic}@127.0.0.1:{port}: disconnected from 127.0.0.1:{port}", down.Problem);
        lock (chunks) Assert.Equal(EndReason.EndOfStream, Assert.Single(segments).Reason);

        await broker.RestartAsync();
        await Until(() => source.Reconnects == 1 && source.ConnectionState == AudioConnectionState.Connected, "the source to reconnect and resubscribe");
        Assert.Equal(("speech", "listening", (string?)null), status.Report());

        // After: speech at once, well within the endpointer's lead-in padding, then push-to-talk released.
        var after = Pcm16([.. Tone(880, 600), .. Silence(1000)]);
        await PublishAsync(port, after, endOfUtterance: true, cts.Token);
        await Until(() => Breaks() == 2, "the audio published after the restart and its end");

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer);

        // The stream: the audio from before, one break at the loss, the audio from after, the end of the utterance.
        float[][] stream;
        lock (chunks) stream = [.. chunks];
        var breaks = Enumerable.Range(0, stream.Length).Where(i => stream[i].Length == 0).ToArray();
        Assert.Equal(2, breaks.Length);
        Assert.Equal(stream.Length - 1, breaks[1]);
        Assert.Equal(Decoded(before), stream[..breaks[0]].SelectMany(c => c).ToArray());
        Assert.Equal(Decoded(after), stream[(breaks[0] + 1)..breaks[1]].SelectMany(c => c).ToArray());

        // Two utterances: the one cut by the loss holds only audio from before; the next only audio from after.
        Assert.Equal(2, segments.Count);
        var (cut, next) = (segments[0], segments[1]);
        Assert.Equal(EndReason.EndOfStream, cut.Reason);
        Assert.Equal(Decoded(before)[SampleAt(cut.SamplesStart)..][..cut.Samples.Length], cut.Samples);
        Assert.Equal(EndReason.Silence, next.Reason);
        Assert.Equal(before.Length / 2, SampleAt(next.SamplesStart));
        Assert.Equal(Decoded(after)[..next.Samples.Length], next.Samples);

        // One loss, one reconnect, each logged once.
        Assert.Equal((1, 1), (source.Disconnects, source.Reconnects));
        Assert.Single(log.Lines, l => l.StartsWith("Warning MQTT audio: disconnected", StringComparison.Ordinal));
        Assert.Single(log.Lines, l => l.StartsWith("Information MQTT audio: reconnected", StringComparison.Ordinal));
    }
}
