using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Speech.Whisper.Native;

/// <summary>
/// whisper.cpp logs through one process-wide callback. We route it to an ILogger: warnings and
/// errors at their level, the chatty load/timing lines at Debug. Without this they go to stderr,
/// which in the daemon is the journal and in replay would mix into the output.
/// </summary>
internal static unsafe class WhisperLog
{
    private static ILogger? _logger;
    private static readonly object Gate = new();
    private static bool _installed;
    // Lines arrive in pieces (printf fragments); collect until a newline.
    [ThreadStatic] private static System.Text.StringBuilder? _pending;

    public static void Install(ILogger logger)
    {
        lock (Gate)
        {
            _logger = logger;
            if (_installed) return;
            WhisperNative.whisper_log_set(&OnLog, null);
            _installed = true;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(int level, byte* text, void* userData)
    {
        try
        {
            var fragment = WhisperNative.Utf8(text);
            if (string.IsNullOrEmpty(fragment)) return;
            var pending = _pending ??= new System.Text.StringBuilder();
            pending.Append(fragment);
            if (!fragment.EndsWith('\n')) return;
            var line = pending.ToString().TrimEnd();
            pending.Clear();
            // ggml_log_level: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 cont
            var logLevel = level switch { 3 => LogLevel.Warning, 4 => LogLevel.Error, _ => LogLevel.Debug };
            _logger?.Log(logLevel, "whisper.cpp: {Line}", line);
        }
        catch
        {
            // Never let an exception unwind into native code.
        }
    }
}
