using CabinAgent.Tests.Shared;
using System.Buffers.Binary;
using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Speech.Tests;

public class SourceTests
{
    private static byte[] Pcm16(float[] interleaved)
    {
        var bytes = new byte[interleaved.Length * 2];
        for (var i = 0; i < interleaved.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(i * 2), WavWriter.ToPcm16(interleaved[i]));
        return bytes;
    }

    private static void MakeExecutable(string path)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static async Task<List<SpeechSegment>> SegmentsOf(IAudioSource source, CancellationToken ct = default)
    {
        var segments = new List<SpeechSegment>();
        await foreach (var s in new Endpointer().SegmentsAsync(source, ct)) segments.Add(s);
        return segments;
    }

    /// <summary>Two tone bursts (500-1300 ms, 2500-3100 ms) as the front-end would send them.</summary>
    private static float[] TwoBursts(int rate) => Signals.Concat(
        Signals.Silence(500, rate), Signals.Tone(440, 800, 0.3, rate),
        Signals.Silence(1200, rate), Signals.Tone(880, 600, 0.3, rate), Signals.Silence(1000, rate));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    [InlineData(1001, 2)]
    public void Pcm16_decoding_does_not_depend_on_where_chunks_split_samples_and_frames(int chunkBytes, int channels)
    {
        var mono = Signals.Tone(440, 100, 0.3, 48_000);
        var interleaved = channels == 1 ? mono : Signals.Interleave(mono, mono);
        var bytes = Pcm16(interleaved);

        var whole = new Pcm16Decoder(48_000, channels);
        var expected = whole.Decode(bytes).Concat(whole.Flush()).ToArray();
        var chunked = new Pcm16Decoder(48_000, channels);
        var actual = new List<float>();
        for (var i = 0; i < bytes.Length; i += chunkBytes)
            actual.AddRange(chunked.Decode(bytes.AsSpan(i, Math.Min(chunkBytes, bytes.Length - i))));
        actual.AddRange(chunked.Flush());

        Assert.Equal(1600, expected.Length);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task A_raw_48kHz_stereo_stream_is_endpointed_at_16kHz_mono()
    {
        var stereo = TwoBursts(48_000);
        var bytes = Pcm16(Signals.Interleave(stereo, stereo));
        await using var source = RawPcmSource.FromStream(new MemoryStream(bytes), 48_000, 2);

        var segments = await SegmentsOf(source);

        Assert.Equal(2, segments.Count);
        Assert.InRange(segments[0].Start.TotalMilliseconds, 470, 530);
        Assert.InRange(segments[0].End.TotalMilliseconds, 1270, 1330);
        Assert.InRange(segments[1].Start.TotalMilliseconds, 2470, 2530);
        Assert.InRange(segments[1].End.TotalMilliseconds, 3070, 3130);
    }

    [Fact]
    public async Task A_raw_file_path_is_read_to_its_end()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cabin-raw-{Guid.NewGuid():N}.s16le");
        await File.WriteAllBytesAsync(path, Pcm16(TwoBursts(16_000)));
        try
        {
            await using var source = RawPcmSource.FromPath(path, 16_000, 1);
            Assert.Equal($"raw:{path}", source.Description);
            Assert.Equal(2, (await SegmentsOf(source)).Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Arecord_is_run_with_raw_s16le_arguments_and_its_output_is_endpointed()
    {
        // A stand-in arecord: records its arguments and plays a raw file, as the real one would capture.
        var dir = Directory.CreateTempSubdirectory("cabin-arecord-").FullName;
        var raw = Path.Combine(dir, "capture.s16le");
        await File.WriteAllBytesAsync(raw, Pcm16(TwoBursts(16_000)));
        var script = Path.Combine(dir, "arecord");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\necho \"$@\" > '{dir}/args'\ncat '{raw}'\n");
        MakeExecutable(script);

        var options = new AudioInputOptions { Kind = "arecord", ArecordPath = script, ArecordDevice = "plughw:1,0" };
        await using (var source = new ArecordSource(options))
            Assert.Equal(2, (await SegmentsOf(source)).Count);

        Assert.Equal("-q -t raw -f S16_LE -r 16000 -c 1 -D plughw:1,0", (await File.ReadAllTextAsync(Path.Combine(dir, "args"))).Trim());
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Arecord_failing_ends_the_stream_with_its_message()
    {
        var dir = Directory.CreateTempSubdirectory("cabin-arecord-").FullName;
        var script = Path.Combine(dir, "arecord");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho 'arecord: main:850: audio open error: Device or resource busy' >&2\nexit 1\n");
        MakeExecutable(script);

        await using var source = new ArecordSource(new AudioInputOptions { Kind = "arecord", ArecordPath = script });
        var error = await Assert.ThrowsAsync<AudioSourceException>(() => SegmentsOf(source));
        Assert.Equal("arecord exited with code 1: arecord: main:850: audio open error: Device or resource busy", error.Message);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_missing_arecord_is_a_clear_error()
    {
        await using var source = new ArecordSource(new AudioInputOptions { Kind = "arecord", ArecordPath = "/nonexistent/arecord" });
        var error = await Assert.ThrowsAsync<AudioSourceException>(() => SegmentsOf(source));
        Assert.StartsWith("could not start '/nonexistent/arecord'", error.Message);
    }

    /// <summary>
    /// The agent's MQTT connection as the source sees it, driven by hand: what it delivers, in order, on the caller's
    /// thread (the real feed over mosquitto, with reconnects and TLS, is in the integration tests).
    /// </summary>
    private sealed class HandFeed : IAudioFeed, IAsyncDisposable
    {
        private Action<AudioFeedEvent>? _receiver;

        public string Description => "mqtt:vehicle/test/audio/in@127.0.0.1:1883";
        public string Endpoint => "127.0.0.1:1883";
        public string Topic => "vehicle/test/audio/in";
        public bool Stopped { get; private set; }

        public Task<IAsyncDisposable> StartAsync(Action<AudioFeedEvent> receiver, CancellationToken cancellationToken)
        {
            _receiver = receiver;
            return Task.FromResult<IAsyncDisposable>(this);
        }

        public void Send(AudioFeedEvent e) => (_receiver ?? throw new InvalidOperationException("not started"))(e);

        public void Audio(int connection, byte[] pcm, bool endOfUtterance)
        {
            for (var i = 0; i < pcm.Length; i += 640) // 20 ms chunks
                Send(new AudioFeedEvent.Chunk(connection, pcm[i..Math.Min(pcm.Length, i + 640)]));
            if (endOfUtterance) Send(new AudioFeedEvent.Chunk(connection, []));
        }

        public ValueTask DisposeAsync()
        {
            Stopped = true;
            _receiver = null;
            return ValueTask.CompletedTask;
        }
    }

    private static float[] Decoded(byte[] pcm) =>
        Enumerable.Range(0, pcm.Length / 2).Select(i => BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(i * 2)) / 32768f).ToArray();

    /// <summary>Reads chunks until <paramref name="breaks"/> empty ones have come.</summary>
    private static async Task<List<float[]>> ChunksUntil(IAsyncEnumerator<ReadOnlyMemory<float>> reader, Task<bool> first, int breaks)
    {
        var chunks = new List<float[]>();
        var next = first;
        while (await next)
        {
            chunks.Add(reader.Current.ToArray());
            if (chunks.Count(c => c.Length == 0) == breaks) break;
            next = reader.MoveNextAsync().AsTask();
        }
        return chunks;
    }

    [Fact]
    public async Task Mqtt_audio_chunks_are_endpointed_and_an_empty_payload_ends_the_utterance()
    {
        var feed = new HandFeed();
        await using var source = new MqttAudioSource(feed, new AudioInputOptions { Kind = "mqtt", SampleRate = 16_000, Channels = 1 });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reader = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        // The first MoveNext starts the feed.
        var first = reader.MoveNextAsync().AsTask();
        feed.Send(new AudioFeedEvent.Connected(1));
        Assert.True(source.Subscribed.IsCompleted);
        Assert.Equal(("mqtt:vehicle/test/audio/in@127.0.0.1:1883", AudioConnectionState.Connected), (source.Description, source.ConnectionState));

        // Speech that is still going on when push-to-talk is released: only the empty payload ends it.
        var audio = Signals.Concat(Signals.Silence(300), Signals.Tone(500, 700, 0.3));
        feed.Audio(1, Pcm16(audio), endOfUtterance: true);
        var chunks = await ChunksUntil(reader, first, breaks: 1);
        await reader.DisposeAsync();

        Assert.Equal(Decoded(Pcm16(audio)), chunks.SelectMany(c => c).ToArray());
        Assert.Empty(chunks[^1]);
        var endpointer = new Endpointer();
        var segments = chunks.SelectMany(c => c.Length == 0 ? endpointer.Flush() : endpointer.Push(c)).ToList();
        var segment = Assert.Single(segments);
        Assert.Equal(EndReason.EndOfStream, segment.Reason);
        Assert.InRange(segment.Start.TotalMilliseconds, 270, 330);
        Assert.InRange(segment.End.TotalMilliseconds, 970, 1030);
        Assert.True(feed.Stopped);
        Assert.Equal((AudioConnectionState.Closed, "stopped"), (source.ConnectionState, source.ConnectionProblem));
    }

    [Fact]
    public async Task A_broker_that_is_not_up_yet_is_waited_for_then_audio_flows()
    {
        var feed = new HandFeed();
        var logs = new ListLogger();
        await using var source = new MqttAudioSource(feed, new AudioInputOptions { Kind = "mqtt" }, logs);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reader = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = reader.MoveNextAsync().AsTask();

        // Nobody answers: the source waits, says why, and has not failed.
        feed.Send(new AudioFeedEvent.Unreachable("Connection refused"));
        feed.Send(new AudioFeedEvent.Unreachable("Connection refused"));
        Assert.Equal((AudioConnectionState.Connecting, "cannot reach 127.0.0.1:1883 to subscribe to vehicle/test/audio/in (Connection refused); retrying"),
            (source.ConnectionState, source.ConnectionProblem));
        Assert.False(first.IsCompleted);
        Assert.False(source.Subscribed.IsCompleted);

        feed.Send(new AudioFeedEvent.Connected(3));
        Assert.True(source.Subscribed.IsCompleted);
        Assert.Equal((AudioConnectionState.Connected, null, 0, 0), (source.ConnectionState, source.ConnectionProblem, source.Disconnects, source.Reconnects));

        var audio = Pcm16(Signals.Tone(440, 100, 0.3));
        feed.Send(new AudioFeedEvent.Chunk(3, audio));
        Assert.True(await first);
        Assert.Equal(Decoded(audio), reader.Current.ToArray());
        await reader.DisposeAsync();

        Assert.Equal([
            "Warning MQTT audio: cannot reach 127.0.0.1:1883 to subscribe to vehicle/test/audio/in (Connection refused); retrying. No audio until it answers",
            "Information MQTT audio: listening on vehicle/test/audio/in at 127.0.0.1:1883 (16000 Hz, 1 ch, s16le) after 3 attempts",
        ], logs.Lines.Where(l => !l.StartsWith("Debug", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_lost_connection_ends_the_utterance_and_late_or_repeated_news_of_an_old_connection_changes_nothing()
    {
        var feed = new HandFeed();
        var logs = new ListLogger();
        await using var source = new MqttAudioSource(feed, new AudioInputOptions { Kind = "mqtt" }, logs);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reader = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = reader.MoveNextAsync().AsTask();
        var before = Pcm16(Signals.Tone(440, 200, 0.3));
        var after = Pcm16(Signals.Tone(880, 100, 0.3));

        feed.Send(new AudioFeedEvent.Connected(1));
        feed.Audio(1, before, endOfUtterance: false);
        feed.Send(new AudioFeedEvent.Lost(1, "ServerBusy"));
        Assert.Equal((AudioConnectionState.Reconnecting, "disconnected from 127.0.0.1:1883 (ServerBusy); reconnecting"),
            (source.ConnectionState, source.ConnectionProblem));
        feed.Send(new AudioFeedEvent.Unreachable("Connection refused"));
        Assert.Equal("disconnected from 127.0.0.1:1883; reconnecting (attempt 1: Connection refused)", source.ConnectionProblem);
        feed.Send(new AudioFeedEvent.Connected(3));
        // Old news: the loss of connection 1 again, connection 1 "up" again.
        feed.Send(new AudioFeedEvent.Lost(1, "ServerBusy"));
        feed.Send(new AudioFeedEvent.Connected(1));
        feed.Audio(3, after, endOfUtterance: true);
        var chunks = await ChunksUntil(reader, first, breaks: 2);
        await reader.DisposeAsync();

        var breaks = Enumerable.Range(0, chunks.Count).Where(i => chunks[i].Length == 0).ToArray();
        Assert.Equal([before.Length / 640, chunks.Count - 1], breaks);
        Assert.Equal(Decoded(before), chunks[..breaks[0]].SelectMany(c => c).ToArray());
        Assert.Equal(Decoded(after), chunks[(breaks[0] + 1)..breaks[1]].SelectMany(c => c).ToArray());
        Assert.Equal((1, 1), (source.Disconnects, source.Reconnects));
        Assert.Equal([
            "Information MQTT audio: listening on vehicle/test/audio/in at 127.0.0.1:1883 (16000 Hz, 1 ch, s16le)",
            "Warning MQTT audio: disconnected from 127.0.0.1:1883 (ServerBusy); reconnecting. The utterance in progress ends here; audio is not received until the connection is back",
        ], logs.Lines.Where(l => !l.StartsWith("Debug", StringComparison.Ordinal)).Take(2));
        Assert.Matches(@"^Information MQTT audio: reconnected to 127\.0\.0\.1:1883 after 2 attempt\(s\), \d+\.\d s without audio; listening on vehicle/test/audio/in again$",
            Assert.Single(logs.Lines, l => l.Contains("reconnected", StringComparison.Ordinal)));
    }

    [Fact]
    public void Mqtt_input_without_the_agents_connection_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => AudioSources.Create(new AudioInputOptions { Kind = "mqtt" }));
        Assert.Equal("Input:Kind 'mqtt' takes its audio over the agent's MQTT connection, and there is none here", error.Message);
    }

    [Theory]
    [InlineData("pulse", "Input:Kind 'pulse' is not one of raw, arecord, mqtt, wav")]
    [InlineData("raw", "Input:SampleRate must be within [4000, 192000]")]
    public void Invalid_input_options_are_refused(string kind, string message)
    {
        var options = new AudioInputOptions { Kind = kind, SampleRate = kind == "raw" ? 100 : 16_000 };
        var error = Assert.Throws<ArgumentException>(() => AudioSources.Create(options));
        Assert.Equal(message, error.Message);
    }
}
