using System.Diagnostics;
using System.Text;

namespace CabinAgent.IntegrationTests;

/// <summary>The built <c>cabin-agent</c> run as its own process, with its output captured.</summary>
public sealed class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private AgentProcess(Process process) => _process = process;

    public static AgentProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cabin-agent.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        var process = new Process { StartInfo = info };
        var agent = new AgentProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (agent._stdout) agent._stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (agent._stderr) agent._stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    public string StandardOutput { get { lock (_stdout) return _stdout.ToString(); } }
    public string StandardError { get { lock (_stderr) return _stderr.ToString(); } }
    public int ExitCode => _process.ExitCode;

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync();
        _process.WaitForExit(); // flushes the asynchronous output readers
        return _process.ExitCode;
    }

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
