using System.Net.Sockets;
using System.Text;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// sd_notify(3) without libsystemd: each state is one datagram to the Unix socket systemd names in
/// <c>NOTIFY_SOCKET</c> (a leading <c>@</c> is the abstract namespace). Without that variable the agent is not run by a
/// Type=notify unit and there is nothing to send.
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly UnixDomainSocketEndPoint _target;

    private SystemdNotifier(string path) =>
        _target = new UnixDomainSocketEndPoint(path.StartsWith('@') ? "\0" + path[1..] : path);

    public static SystemdNotifier? FromEnvironment() =>
        Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 } path ? new SystemdNotifier(path) : null;

    /// <summary>
    /// The watchdog interval systemd expects pings within (<c>WATCHDOG_USEC</c>), or null when the watchdog is off or
    /// meant for another process (<c>WATCHDOG_PID</c>).
    /// </summary>
    public static TimeSpan? WatchdogInterval()
    {
        if (Environment.GetEnvironmentVariable("WATCHDOG_PID") is { Length: > 0 } pid && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            return null;
        return long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out var usec) && usec > 0
            ? TimeSpan.FromMicroseconds(usec)
            : null;
    }

    /// <summary>Sends newline-separated assignments (<c>READY=1</c>, <c>STATUS=…</c>); false when systemd is not listening.</summary>
    public bool Send(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _target);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}
