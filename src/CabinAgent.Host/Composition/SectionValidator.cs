using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Composition;

/// <summary>
/// Validates an options class with its data annotations and names each bad key as it appears in
/// configuration (<c>Mqtt:KeepAliveSeconds</c>), so a bad value fails start-up with a message a person can act on.
/// </summary>
public sealed class SectionValidator<T>(string section) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            return ValidateOptionsResult.Success;
        return ValidateOptionsResult.Fail(results.Select(r =>
            $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
    }
}

/// <summary>Checks that need code rather than annotations (files that must exist, settings that go together).</summary>
public sealed class DelegateValidator<T>(Func<T, IEnumerable<string>> check) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var failures = check(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
