using CabinAgent.Tests.Shared;
using System.Buffers.Binary;
using CabinAgent.Messaging;
using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;
using Microsoft.Extensions.Logging;
using MQTTnet;

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

    [Fact]
    public async Task Mqtt_audio_chunks_are_endpointed_and_an_empty_payload_ends_the_utterance()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        var options = new AudioInputOptions
        {
            Kind = "mqtt", SampleRate = 16_000, Channels = 1,
            Mqtt = new MqttAudioOptions { Host = "127.0.0.1", Port = broker.Port, Topic = "vehicle/test/audio/in", ClientId = "speech-test" },
        };
        await using var source = new MqttAudioSource(options);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reader = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var endpointer = new Endpointer();
        var segments = new List<SpeechSegment>();
        // The first MoveNext connects and subscribes; publish only after that.
        var first = reader.MoveNextAsync().AsTask();

        var factory = new MqttClientFactory();
        using var publisher = factory.CreateMqttClient();
        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId("front-end").Build(), cts.Token);
        // Speech that is still going on when push-to-talk is released: only the empty payload ends it.
        var audio = Signals.Concat(Signals.Silence(300), Signals.Tone(500, 700, 0.3));
        await source.Subscribed.WaitAsync(cts.Token);
        var bytes = Pcm16(audio);
        for (var i = 0; i < bytes.Length; i += 640) // 20 ms chunks
            await publisher.PublishBinaryAsync("vehicle/test/audio/in", bytes[i..Math.Min(bytes.Length, i + 640)], cancellationToken: cts.Token);
        await publisher.PublishBinaryAsync("vehicle/test/audio/in", [], cancellationToken: cts.Token);

        var received = 0;
        var next = first;
        while (await next)
        {
            var chunk = reader.Current;
            received += chunk.Length;
            segments.AddRange(chunk.IsEmpty ? endpointer.Flush() : endpointer.Push(chunk.Span));
            if (chunk.IsEmpty) break;
            next = reader.MoveNextAsync().AsTask();
        }
        await reader.DisposeAsync();

        Assert.Equal(audio.Length, received);
        var segment = Assert.Single(segments);
        Assert.Equal(EndReason.EndOfStream, segment.Reason);
        Assert.InRange(segment.Start.TotalMilliseconds, 270, 330);
        Assert.InRange(segment.End.TotalMilliseconds, 970, 1030);
    }

    [Fact]
    public async Task A_broker_that_is_not_up_yet_is_waited_for_then_audio_flows()
    {
        var port = EmbeddedBroker.FreeLoopbackPort();
        var options = new AudioInputOptions
        {
            Kind = "mqtt",
            Mqtt = new MqttAudioOptions { Port = port, Topic = "vehicle/test/audio/in", ReconnectDelayMs = 100, MaxReconnectDelayMs = 200 },
        };
        var logs = new ListLogger();
        await using var source = new MqttAudioSource(options, logs);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var first = reader.MoveNextAsync().AsTask();

        // Nobody answers: the source waits, says why, and has not failed.
        while (source.ConnectionProblem is null) await Task.Delay(20, cts.Token);
        Assert.Equal(AudioConnectionState.Connecting, source.ConnectionState);
        Assert.StartsWith($"cannot reach 127.0.0.1:{port} to subscribe to vehicle/test/audio/in", source.ConnectionProblem);
        Assert.False(first.IsCompleted);

        await using var broker = await EmbeddedBroker.StartAsync(port);
        await source.Subscribed.WaitAsync(cts.Token);
        Assert.Equal((AudioConnectionState.Connected, null, 0, 0), (source.ConnectionState, source.ConnectionProblem, source.Disconnects, source.Reconnects));

        using var publisher = new MqttClientFactory().CreateMqttClient();
        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("front-end").Build(), cts.Token);
        var audio = Signals.Tone(440, 100, 0.3);
        await publisher.PublishBinaryAsync("vehicle/test/audio/in", Pcm16(audio), cancellationToken: cts.Token);
        Assert.True(await first);
        Assert.Equal(audio.Length, reader.Current.Length);
        await reader.DisposeAsync();

        Assert.Single(logs.Lines, l => l.StartsWith("Warning MQTT audio: cannot reach", StringComparison.Ordinal));
        Assert.Single(logs.Lines, l => l.StartsWith("Information MQTT audio: listening on vehicle/test/audio/in", StringComparison.Ordinal));
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
