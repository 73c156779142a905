using System.Diagnostics;
using System.Net.Sockets;
using CabinAgent.Messaging;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// A real mosquitto on a free loopback port, started for a test and killed after it. CI installs the
/// Debian package; a machine without it fails here with a message that says so.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private MosquittoBroker(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }
    public string Url => $"mqtt://127.0.0.1:{Port}";

    public static string FindExecutable()
    {
        foreach (var candidate in new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" })
            if (File.Exists(candidate)) return candidate;
        throw new InvalidOperationException("mosquitto is not installed (Debian package 'mosquitto'; scripts/test.sh installs it)");
    }

    public static async Task<MosquittoBroker> StartAsync(int port = 0, string extraConfig = "")
    {
        if (port == 0) port = EmbeddedBroker.FreeLoopbackPort();
        var directory = Directory.CreateTempSubdirectory("cabin-mosquitto-").FullName;
        var config = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"""
            listener {port} 127.0.0.1
            allow_anonymous true
            persistence false
            log_dest stderr
            {extraConfig}
            """.Replace("            ", ""));
        var process = Process.Start(new ProcessStartInfo(FindExecutable(), ["-c", config])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var broker = new MosquittoBroker(process, directory, port);
        await broker.WaitUntilListeningAsync();
        return broker;
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"mosquitto exited with code {_process.ExitCode}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"mosquitto did not listen on {Port} within 10 s");
    }

    /// <summary>Stops the broker abruptly, as a crash or power loss would.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
