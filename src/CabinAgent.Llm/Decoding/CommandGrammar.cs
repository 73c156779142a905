using System.Text;
using CabinAgent.Actions;

namespace CabinAgent.Llm.Decoding;

/// <summary>
/// The language of the model's output, compiled once from the action catalog: exactly the compact
/// JSON objects <c>{"action":"NAME","parameters":{...}}</c> that the catalog's command schema accepts,
/// with parameters in catalog order, enum values from the catalog, numbers inside their ranges, and
/// every span parameter (artist, destination, contact...) a verbatim piece of the utterance.
/// <see cref="Start"/> binds it to one utterance and returns the byte-level automaton that the
/// decoder walks (see <see cref="GrammarState"/>).
/// </summary>
public sealed class CommandGrammar
{
    internal const string Opening = "{\"action\":\"";

    /// <param name="allowNone">
    /// Also allow <c>{"action":"NONE","parameters":{}}</c>, "this is no command": only for a model trained to say so
    /// (the cabin model); a general model prompted with the catalog has no such answer.
    /// </param>
    public CommandGrammar(ActionCatalog catalog, bool allowNone = false)
    {
        Catalog = catalog;
        var actions = catalog.Actions.Select(a => new ActionRule(a));
        if (allowNone)
            actions = actions.Append(new ActionRule(new ActionDefinition
            {
                Name = Prompting.CabinPrompt.NoneAction, Category = "none", Topic = "", Responses = new Dictionary<string, string>(),
            }));
        Actions = actions.ToArray();
        AllowsNone = allowNone;
    }

    public bool AllowsNone { get; }

    public ActionCatalog Catalog { get; }
    internal ActionRule[] Actions { get; }

    /// <summary>The automaton for one utterance, positioned before the first output byte.</summary>
    public GrammarState Start(string utterance) => GrammarState.Create(this, new SpanSource(utterance));
}

internal enum ValueKind { Enum, Integer, Number, Boolean, Span, FreeString }

internal sealed class ActionRule
{
    public ActionRule(ActionDefinition action)
    {
        Definition = action;
        Name = action.Name;
        // The option text runs up to the opening brace of parameters, so the model picks the action
        // and everything after the name is forced.
        OptionText = Encoding.UTF8.GetBytes(action.Name + "\",\"parameters\":{");
        Parameters = action.Parameters.Select(p => new ParameterRule(p)).ToArray();
    }

    public ActionDefinition Definition { get; }
    public string Name { get; }
    public byte[] OptionText { get; }
    public ParameterRule[] Parameters { get; }
}

internal sealed class ParameterRule
{
    public ParameterRule(ParameterDefinition p)
    {
        Name = p.Name;
        Required = p.Required;
        Kind = p switch
        {
            { Enum: not null } => ValueKind.Enum,
            { Type: ParameterType.Integer } => ValueKind.Integer,
            { Type: ParameterType.Number } => ValueKind.Number,
            { Type: ParameterType.Boolean } => ValueKind.Boolean,
            { Span: true } => ValueKind.Span,
            _ => ValueKind.FreeString,
        };
        // Same defaults as CommandSchema.ParametersSchema: free strings are 1..100 characters.
        MaxLength = p.MaxLength ?? 100;
        Minimum = p.Minimum ?? (Kind == ValueKind.Integer ? -999_999 : -999_999.0);
        Maximum = p.Maximum ?? 999_999;
        EnumOptions = p.Enum?.Select(v => Encoding.UTF8.GetBytes("\"" + v + "\"")).ToArray() ?? [];
        var opensString = Kind is ValueKind.Span or ValueKind.FreeString;
        KeyFirst = Encoding.UTF8.GetBytes("\"" + p.Name + "\":" + (opensString ? "\"" : ""));
        KeyNext = Encoding.UTF8.GetBytes(",\"" + p.Name + "\":" + (opensString ? "\"" : ""));
    }

    public string Name { get; }
    public bool Required { get; }
    public ValueKind Kind { get; }
    public int MaxLength { get; }
    public double Minimum { get; }
    public double Maximum { get; }
    public byte[][] EnumOptions { get; }

    /// <summary>Key text when it is the first parameter, and when one precedes it.</summary>
    public byte[] KeyFirst { get; }
    public byte[] KeyNext { get; }
}
