using CabinAgent.Speech.Audio;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;

namespace CabinAgent.Speech.Sources;

/// <summary>
/// Captures from an ALSA device with <c>arecord</c> (alsa-utils on the car box) as raw s16le on its
/// stdout. The process is started on first read and killed on dispose or cancellation. If arecord
/// exits on its own (device busy, unplugged), the read ends with an <see cref="AudioSourceException"/>
/// that carries arecord's own message.
/// </summary>
public sealed class ArecordSource(AudioInputOptions options) : IAudioSource
{
    private Process? _process;
    private readonly StringBuilder _stderr = new();

    public string Description => $"arecord:{options.ArecordDevice}@{options.SampleRate}Hz/{options.Channels}ch";

    /// <summary>The arguments: quiet, raw (no WAV header), s16le, the configured rate, channels and device.</summary>
    public IReadOnlyList<string> Arguments =>
        ["-q", "-t", "raw", "-f", "S16_LE", "-r", options.SampleRate.ToString(), "-c", options.Channels.ToString(), "-D", options.ArecordDevice];

    public async IAsyncEnumerable<ReadOnlyMemory<float>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(options.ArecordPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in Arguments) start.ArgumentList.Add(arg);
        try
        {
            _process = Process.Start(start) ?? throw new AudioSourceException($"could not start {options.ArecordPath}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new AudioSourceException($"could not start '{options.ArecordPath}' ({e.Message}); install alsa-utils", e);
        }
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.AppendLine(e.Data);
        };
        _process.BeginErrorReadLine();
        await using var kill = cancellationToken.Register(Kill);

        var raw = RawPcmSource.FromStream(_process.StandardOutput.BaseStream, options.SampleRate, options.Channels, Description);
        await foreach (var chunk in raw.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return chunk;

        cancellationToken.ThrowIfCancellationRequested();
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (_process.ExitCode != 0)
        {
            string message;
            lock (_stderr) message = _stderr.ToString().Trim();
            throw new AudioSourceException($"arecord exited with code {_process.ExitCode}: {(message.Length > 0 ? message : "no message")}");
        }
    }

    private void Kill()
    {
        try
        {
            if (_process is { HasExited: false }) _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>An audio source failed (the capture process died, the broker refused us).</summary>
public sealed class AudioSourceException(string message, Exception? inner = null) : Exception(message, inner);
