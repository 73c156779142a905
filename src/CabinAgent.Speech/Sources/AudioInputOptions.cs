namespace CabinAgent.Speech.Sources;

/// <summary>Where the daemon's audio comes from (config section <c>Speech:Input</c>).</summary>
public sealed class AudioInputOptions
{
    public static readonly string[] Kinds = ["raw", "arecord", "mqtt", "wav"];

    /// <summary><c>raw</c> (stdin / FIFO / file of s16le), <c>arecord</c> (ALSA capture), <c>mqtt</c> (cockpit audio topic), <c>wav</c> (a file, for tests).</summary>
    public string Kind { get; set; } = "arecord";

    /// <summary>For <c>raw</c>: a path (a FIFO, a file) or <c>-</c> for stdin. For <c>wav</c>: the file.</summary>
    public string Path { get; set; } = "-";

    /// <summary>Sample rate of raw s16le input (raw, arecord, mqtt); converted to 16 kHz.</summary>
    public int SampleRate { get; set; } = 16_000;

    /// <summary>Interleaved channels of raw input; averaged to mono.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>ALSA device for arecord (<c>arecord -L</c> lists them).</summary>
    public string ArecordDevice { get; set; } = "default";

    /// <summary>The arecord executable (from alsa-utils).</summary>
    public string ArecordPath { get; set; } = "arecord";

    public MqttAudioOptions Mqtt { get; set; } = new();

    public void Validate()
    {
        if (!Kinds.Contains(Kind)) throw new ArgumentException($"Input:Kind '{Kind}' is not one of {string.Join(", ", Kinds)}");
        if (SampleRate is < 4_000 or > 192_000) throw new ArgumentException("Input:SampleRate must be within [4000, 192000]");
        if (Channels is < 1 or > 8) throw new ArgumentException("Input:Channels must be within [1, 8]");
        if (string.IsNullOrWhiteSpace(Path)) throw new ArgumentException("Input:Path must not be empty (use '-' for stdin)");
        if (Kind == "mqtt") Mqtt.Validate();
    }
}

/// <summary>
/// The cockpit audio front-end publishes raw little-endian signed 16-bit PCM chunks, at
/// <see cref="AudioInputOptions.SampleRate"/> and <see cref="AudioInputOptions.Channels"/>
/// (interleaved), on <see cref="Topic"/>. Chunks must hold whole frames; any length is fine
/// (20-100 ms is usual). An empty payload marks the end of an utterance (push-to-talk released).
/// The broker, TLS, credentials and reconnect backoff are the agent's own (<c>Mqtt</c> section): the audio arrives
/// over the agent's audio connection, made with those settings.
/// </summary>
public sealed class MqttAudioOptions
{
    /// <summary>Full topic; the default follows the <c>vehicle/{vehicle_id}/</c> convention.</summary>
    public string Topic { get; set; } = "vehicle/dev/audio/in";

    /// <summary>Chunks buffered while recognition is busy; older ones are dropped beyond this (and logged).</summary>
    public int MaxQueuedChunks { get; set; } = 1000;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Topic) || Topic.Contains('#') || Topic.Contains('+'))
            throw new ArgumentException("Input:Mqtt:Topic must be one topic, without wildcards");
        if (MaxQueuedChunks < 10) throw new ArgumentException("Input:Mqtt:MaxQueuedChunks must be at least 10");
    }
}
