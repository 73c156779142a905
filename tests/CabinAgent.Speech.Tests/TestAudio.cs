using System.Diagnostics;
using CabinAgent.Speech.Audio;

namespace CabinAgent.Speech.Tests;

/// <summary>
/// Speech made on the fly with espeak-ng (a Debian package CI installs), into a per-run temp
/// directory. It is synthetic but real speech: formants, pauses, the resampler's 22.05 kHz input.
/// </summary>
internal static class TestAudio
{
    private static readonly string Dir = Directory.CreateTempSubdirectory("cabin-speech-tests-").FullName;
    private static readonly Lock Gate = new();

    public static readonly (string Voice, string Text)[] Phrases =
    [
        ("en", "play some music"),
        ("en", "navigate to the nearest gas station"),
        ("cmn", "打开车窗"),
        ("cmn", "把空调温度调高两度"),
    ];

    /// <summary>Path of a WAV with the phrase spoken by espeak-ng (voice "en" or "cmn").</summary>
    public static string Speak(string voice, string text)
    {
        lock (Gate)
        {
            var path = Path.Combine(Dir, $"{voice}-{Convert.ToHexString(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..12]}.wav");
            if (File.Exists(path)) return path;
            var start = new ProcessStartInfo("espeak-ng") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { "-v", voice, "-s", "150", "-w", path, text }) start.ArgumentList.Add(arg);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("espeak-ng is required for the speech tests: apt-get install espeak-ng", e);
            }
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 || !File.Exists(path))
                throw new InvalidOperationException($"espeak-ng failed ({process.ExitCode}): {error}");
            return path;
        }
    }

    public static AudioClip Clip(string voice, string text) => WavReader.Read(Speak(voice, text));
}
