namespace CabinAgent.Tools;

/// <summary>
/// Finds the repository's own files — samples, scripts, the evaluation set, the shipped config — by walking up the
/// folders from where a command or a test runs, so the CLI works from any folder of a checkout and tests from their
/// output folder. The one such walk in the code base (src and tests).
/// </summary>
public static class RepoFiles
{
    /// <summary>Where the CLI looks: the working directory first (a checkout), then the program's own folder (an install).</summary>
    public static IReadOnlyList<string> FromWorkingDirectory { get; } = [Directory.GetCurrentDirectory(), AppContext.BaseDirectory];

    /// <summary>
    /// <paramref name="relative"/> (a file or a folder) in the nearest folder at or above the first of
    /// <paramref name="starts"/> that has it, else above the next; null when none has it.
    /// </summary>
    public static string? Find(string relative, IEnumerable<string> starts)
    {
        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate) || Directory.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary><see cref="Find(string, IEnumerable{string})"/> from <see cref="FromWorkingDirectory"/>.</summary>
    public static string? Find(string relative) => Find(relative, FromWorkingDirectory);

    /// <summary>The checkout's root (the folder of <c>CabinAgent.sln</c>) at or above <paramref name="start"/>; throws outside a checkout.</summary>
    public static string Root(string start) =>
        Path.GetDirectoryName(Find("CabinAgent.sln", [start]))
        ?? throw new DirectoryNotFoundException($"no checkout (CabinAgent.sln) at or above {start}");
}
