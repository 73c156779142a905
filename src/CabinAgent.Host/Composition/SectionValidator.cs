using CabinAgent.Actions;
using System.ComponentModel.DataAnnotations;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Speech;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

// One rule for every section: one IValidateOptions<T> each, run at start-up (ValidateOnStart), every failure naming
// its key as configuration spells it (Mqtt:KeepAliveSeconds, Safety:alerts.overspeed.hold_ms), so a bad value stops
// the agent with a message a person can act on instead of surfacing later from inside a service.
namespace CabinAgent.Host.Composition;

/// <summary>Checks an options class by its data annotations (the simple ranges and patterns of Agent, Mqtt, Observability).</summary>
public sealed class SectionValidator<T>(string section) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return ValidationFailures.Result(results.Select(r => $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
    }
}

/// <summary>The broker section: its annotations, plus what needs code (files that must exist, settings that go together).</summary>
internal sealed class MqttOptionsValidator(IConfiguration configuration) : IValidateOptions<MqttOptions>
{
    private readonly SectionValidator<MqttOptions> _annotations = new(MqttOptions.Section);

    public ValidateOptionsResult Validate(string? name, MqttOptions options)
    {
        var failures = ValidationFailures.Of(_annotations.Validate(name, options)).Concat(options.CheckFiles()).ToList();
        // The binder skips an empty value and leaves the default in place: an empty VehicleId would silently become
        // "demo" and the agent would act on another vehicle's topics.
        if (configuration.GetSection(MqttOptions.Section).GetChildren().Any(c => c.Key == "VehicleId" && string.IsNullOrEmpty(c.Value)))
            failures.Add(MqttOptions.EmptyVehicleIdError);
        return ValidationFailures.Result(failures);
    }
}

/// <summary>The pipeline's keys of the <c>Agent</c> section (<c>Tiers</c>, <c>DefaultLang</c>).</summary>
internal sealed class PipelineOptionsValidator : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Tiers)) failures.Add($"{AgentOptions.Section}:Tiers: must be auto, deterministic or llm");
        if (options.DefaultLang is not ("zh" or "en")) failures.Add($"{AgentOptions.Section}:DefaultLang: must be zh or en");
        return ValidationFailures.Result(failures);
    }
}

/// <summary>
/// The speech section's values (a missing whisper model is not one of them: without it the agent runs on transcripts
/// from the bus, and /healthz says so). The audio topic is the vehicle's (<see cref="TopicMap.AudioIn"/>): a
/// configured one that differs is a mistake, not a second way to name it.
/// </summary>
internal sealed class SpeechOptionsValidator(IConfiguration configuration) : IValidateOptions<SpeechOptions>
{
    private const string TopicKey = "Speech:Input:Mqtt:Topic";

    public ValidateOptionsResult Validate(string? name, SpeechOptions options)
    {
        var failures = new List<string>();
        try
        {
            options.Validate(requireModel: false);
        }
        catch (ArgumentException ex)
        {
            failures.AddRange(ex.Message.Split("; "));
        }
        if (configuration[TopicKey] is { Length: > 0 } topic && topic != options.Input.Mqtt.Topic)
            failures.Add($"{TopicKey}: the audio topic is {options.Input.Mqtt.Topic}, from Mqtt:VehicleId like every topic; remove the setting");
        return ValidationFailures.Result(failures);
    }
}

/// <summary>The safety rules' own checks and their names against the catalog, each named under the <c>Safety</c> section.</summary>
internal sealed class SafetyOptionsValidator(ActionCatalog catalog) : IValidateOptions<SafetyOptions>
{
    public ValidateOptionsResult Validate(string? name, SafetyOptions options) =>
        ValidationFailures.Result(options.Validate(catalog).Select(problem => $"{SafetyOptionsFactory.Section}:{problem}"));
}

internal static class ValidationFailures
{
    public static ValidateOptionsResult Result(IEnumerable<string> failures)
    {
        var list = failures.ToList();
        return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
    }

    public static IEnumerable<string> Of(ValidateOptionsResult result) => result.Failed ? result.Failures ?? [] : [];
}
