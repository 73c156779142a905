using System.Globalization;
using System.Runtime.InteropServices;

namespace CabinAgent.Tools;

/// <summary>
/// What the benchmarks print beside their figures so a reader can judge them: on a shared build machine the load
/// average explains more of a latency than the code does.
/// </summary>
public static class Machine
{
    /// <summary>The 1-minute load average from <c>/proc/loadavg</c> (Linux); null where there is none or it cannot be read.</summary>
    public static double? LoadAverage1m()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Cores, OS, architecture, .NET version and today's date, in one line.</summary>
    public static string Description() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");
}
