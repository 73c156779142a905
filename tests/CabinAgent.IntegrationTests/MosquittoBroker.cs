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
    private Process _process;
    private readonly string _directory;
    private readonly string _config;

    private MosquittoBroker(Process process, string directory, string config, int port, System.Text.StringBuilder log)
    {
        _log = log;
        _process = process;
        _directory = directory;
        _config = config;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What mosquitto wrote on stderr, for failure messages.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }
    public string Url => $"mqtt://127.0.0.1:{Port}";

    public static string FindExecutable()
    {
        foreach (var candidate in new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" })
            if (File.Exists(candidate)) return candidate;
        throw new InvalidOperationException("mosquitto is not installed (Debian package 'mosquitto'; scripts/test.sh installs it)");
    }

    /// <param name="persistent">Keep sessions and queued messages across a graceful restart (on disk).</param>
    public static async Task<MosquittoBroker> StartAsync(int port = 0, string extraConfig = "", bool persistent = false)
    {
        if (port == 0) port = EmbeddedBroker.FreeLoopbackPort();
        var directory = Directory.CreateTempSubdirectory("cabin-mosquitto-").FullName;
        var config = Path.Combine(directory, "mosquitto.conf");
        // A configuration that says who may connect itself (the shipped production one) keeps its word.
        var anonymous = extraConfig.Contains("allow_anonymous", StringComparison.Ordinal) ? ""
            : $"allow_anonymous {(extraConfig.Contains("password_file", StringComparison.Ordinal) ? "false" : "true")}";
        await File.WriteAllTextAsync(config, $"""
            listener {port} 127.0.0.1
            {anonymous}
            persistence {(persistent ? "true" : "false")}
            persistence_location {directory}/
            user {Environment.UserName}
            log_dest stderr
            {extraConfig}
            """.Replace("            ", ""));
        var log = new System.Text.StringBuilder();
        var broker = new MosquittoBroker(Launch(config, log), directory, config, port, log);
        await broker.WaitUntilListeningAsync();
        return broker;
    }

    private readonly System.Text.StringBuilder _log;

    private static Process Launch(string config, System.Text.StringBuilder log)
    {
        var process = Process.Start(new ProcessStartInfo(FindExecutable(), ["-c", config])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    /// <summary>SIGTERM: mosquitto closes every connection and, when persistent, saves its state.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Starts it again on the same port with the same configuration and state.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        _process.Dispose();
        _process = Launch(_config, _log);
        await WaitUntilListeningAsync();
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"mosquitto exited with code {_process.ExitCode}: {Log}");
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
