namespace CabinAgent.Llm.Decoding;

/// <summary>Which part of the command the next byte belongs to (for confidence and statistics).</summary>
public enum GrammarRegion { Structure, Action, Parameters, Done }

/// <summary>
/// Byte-level automaton over the command language of a <see cref="CommandGrammar"/>, bound to one
/// utterance. <see cref="Feed"/> advances by one byte or refuses it (leaving the state unusable, so
/// callers feed a <see cref="Clone"/> when only testing). The decoder tests whole token pieces byte by
/// byte; because the automaton works on UTF-8 bytes, tokens that split a Chinese character are fine.
/// </summary>
public sealed class GrammarState
{
    private enum Phase { Choice, Number, Span, FreeString, Done }

    private enum Event { Opening, Action, Key, Close, ValueDone }

    private readonly record struct Option(byte[] Text, Event Event, int Arg);

    private readonly CommandGrammar _grammar;
    private readonly SpanSource _spans;

    private Phase _phase;
    private int _action = -1;       // chosen action index
    private int _lastParam = -1;    // index of the last parameter whose value is complete
    private int _param = -1;        // parameter whose value is being read

    // Choice among literal options (no option is a prefix of another).
    private Option[] _options = [];
    private int[] _alive = [];
    private int _aliveCount;
    private int _matched;

    // Number being read.
    private bool _negative, _hasDot;
    private long _intValue;
    private int _intDigits, _fracDigits, _fracValue;

    // Span being read: candidate end positions in the utterance bytes (all occurrences of the content so far).
    private int[] _ends = [];
    private int _endCount;
    private int _spanStart;         // start of the first candidate (for the length in units)
    private int _contentBytes;

    // Free string being read.
    private int _freeUnits, _utf8Pending;

    private GrammarState(CommandGrammar grammar, SpanSource spans)
    {
        _grammar = grammar;
        _spans = spans;
    }

    internal static GrammarState Create(CommandGrammar grammar, SpanSource spans)
    {
        var s = new GrammarState(grammar, spans);
        s.SetChoice([new Option(System.Text.Encoding.UTF8.GetBytes(CommandGrammar.Opening), Event.Opening, 0)]);
        return s;
    }

    public bool IsComplete => _phase == Phase.Done;

    /// <summary>The chosen action, once its name is complete.</summary>
    public string? Action => _action >= 0 ? _grammar.Actions[_action].Name : null;

    public GrammarRegion Region => _phase switch
    {
        Phase.Done => GrammarRegion.Done,
        Phase.Choice when _options.Length > 0 && _options[_alive[0]].Event == Event.Action => GrammarRegion.Action,
        Phase.Choice when _options.Length > 0 && _options[_alive[0]].Event is Event.Opening => GrammarRegion.Structure,
        _ => GrammarRegion.Parameters,
    };

    public GrammarState Clone()
    {
        var c = (GrammarState)MemberwiseClone();
        c._alive = (int[])_alive.Clone();
        c._ends = (int[])_ends.Clone();
        return c;
    }

    /// <summary>Feeds every byte; false (state unusable) as soon as one is refused.</summary>
    public bool Feed(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
            if (!Feed(b)) return false;
        return true;
    }

    /// <summary>
    /// The next byte when the language allows exactly one (keys, punctuation, the rest of a name once
    /// unambiguous); the decoder feeds such runs to the model in one batch instead of sampling them.
    /// </summary>
    public bool TryGetForcedByte(out byte forced)
    {
        forced = 0;
        if (_phase != Phase.Choice || _aliveCount == 0) return false;
        forced = _options[_alive[0]].Text[_matched];
        for (var i = 1; i < _aliveCount; i++)
            if (_options[_alive[i]].Text[_matched] != forced) return false;
        return true;
    }

    /// <summary>
    /// Cheap pre-check: false only when <paramref name="b"/> is certainly refused (lets the vocabulary
    /// walk skip most bytes without cloning the state).
    /// </summary>
    public bool MayAccept(byte b)
    {
        switch (_phase)
        {
            case Phase.Choice:
                for (var i = 0; i < _aliveCount; i++)
                    if (_options[_alive[i]].Text[_matched] == b) return true;
                return false;
            case Phase.Span:
                if (b == '"') return true;
                if (_contentBytes == 0) return _spans.StartBytes[b];
                var src = _spans.Bytes;
                for (var i = 0; i < _endCount; i++)
                    if (_ends[i] < src.Length && src[_ends[i]] == b) return true;
                return false;
            case Phase.Number:
                return b is (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'.' or (byte)',' or (byte)'}';
            case Phase.Done:
                return false;
            default:
                return true;
        }
    }

    public bool Feed(byte b)
    {
        switch (_phase)
        {
            case Phase.Choice: return FeedChoice(b);
            case Phase.Number: return FeedNumber(b);
            case Phase.Span: return FeedSpan(b);
            case Phase.FreeString: return FeedFreeString(b);
            default: return false;
        }
    }

    // ---- choices ----

    private void SetChoice(Option[] options)
    {
        _phase = Phase.Choice;
        _options = options;
        _alive = new int[options.Length];
        for (var i = 0; i < options.Length; i++) _alive[i] = i;
        _aliveCount = options.Length;
        _matched = 0;
    }

    private bool FeedChoice(byte b)
    {
        var kept = 0;
        for (var i = 0; i < _aliveCount; i++)
        {
            var o = _alive[i];
            if (_options[o].Text[_matched] == b) _alive[kept++] = o;
        }
        if (kept == 0) return false;
        _aliveCount = kept;
        _matched++;
        var first = _options[_alive[0]];
        if (kept == 1 && first.Text.Length == _matched) Fire(first);
        return true;
    }

    private void Fire(Option option)
    {
        switch (option.Event)
        {
            case Event.Opening:
                SetChoice(ActionOptions());
                break;
            case Event.Action:
                _action = option.Arg;
                SetChoice(KeyOptions());
                break;
            case Event.Key:
                StartValue(option.Arg);
                break;
            case Event.ValueDone:
                _lastParam = _param;
                SetChoice(KeyOptions());
                break;
            case Event.Close:
                _phase = Phase.Done;
                break;
        }
    }

    private Option[] ActionOptions()
    {
        var options = new List<Option>();
        for (var a = 0; a < _grammar.Actions.Length; a++)
        {
            var rule = _grammar.Actions[a];
            // An action whose required span cannot be filled from this utterance is not offered.
            if (rule.Parameters.Any(p => p.Required && !Usable(p))) continue;
            options.Add(new Option(rule.OptionText, Event.Action, a));
        }
        return options.ToArray();
    }

    private bool Usable(ParameterRule p) => p.Kind != ValueKind.Span || _spans.HasSpans;

    private static readonly byte[] CloseText = "}}"u8.ToArray();

    private Option[] KeyOptions()
    {
        var parameters = _grammar.Actions[_action].Parameters;
        var options = new List<Option>();
        var closeAllowed = true;
        for (var j = _lastParam + 1; j < parameters.Length; j++)
        {
            var p = parameters[j];
            if (Usable(p))
                options.Add(new Option(_lastParam < 0 ? p.KeyFirst : p.KeyNext, Event.Key, j));
            if (p.Required)
            {
                closeAllowed = false; // parameters come in catalog order: a required one cannot be skipped
                break;
            }
        }
        if (closeAllowed) options.Add(new Option(CloseText, Event.Close, 0));
        return options.ToArray();
    }

    private void StartValue(int param)
    {
        _param = param;
        var p = _grammar.Actions[_action].Parameters[param];
        switch (p.Kind)
        {
            case ValueKind.Enum:
                SetChoice(p.EnumOptions.Select(t => new Option(t, Event.ValueDone, 0)).ToArray());
                break;
            case ValueKind.Boolean:
                SetChoice([new Option("true"u8.ToArray(), Event.ValueDone, 0), new Option("false"u8.ToArray(), Event.ValueDone, 0)]);
                break;
            case ValueKind.Integer:
            case ValueKind.Number:
                _phase = Phase.Number;
                _negative = _hasDot = false;
                _intValue = 0;
                _intDigits = _fracDigits = _fracValue = 0;
                break;
            case ValueKind.Span:
                _phase = Phase.Span;
                _endCount = 0;
                _contentBytes = 0;
                break;
            case ValueKind.FreeString:
                _phase = Phase.FreeString;
                _freeUnits = _utf8Pending = 0;
                break;
        }
    }

    private ParameterRule CurrentParameter => _grammar.Actions[_action].Parameters[_param];

    // ---- numbers: integers, or decimals with one fractional digit, kept inside [minimum, maximum] ----

    private bool FeedNumber(byte b)
    {
        var p = CurrentParameter;
        var allowFraction = p.Kind == ValueKind.Number;
        if (b == '-' && _intDigits == 0 && !_negative && p.Minimum < 0)
        {
            _negative = true;
            return Feasible(p);
        }
        if (b is >= (byte)'0' and <= (byte)'9')
        {
            var d = b - '0';
            if (_hasDot)
            {
                if (_fracDigits >= 1) return false;
                _fracDigits = 1;
                _fracValue = d;
                return Feasible(p);
            }
            if (_intDigits == 1 && _intValue == 0) return false; // no leading zeros
            if (_intDigits >= 9) return false;
            _intValue = _intValue * 10 + d;
            _intDigits++;
            return Feasible(p);
        }
        if (b == '.' && allowFraction && _intDigits > 0 && !_hasDot)
        {
            _hasDot = true;
            return Feasible(p);
        }
        // Any other byte ends the number: allowed only if the number is complete and in range,
        // then it belongs to what follows (",", "}").
        if (_intDigits == 0 || (_hasDot && _fracDigits == 0)) return false;
        var tenths = _intValue * 10 + _fracValue;
        if (_negative) tenths = -tenths;
        if (tenths < Math.Round(p.Minimum * 10) || tenths > Math.Round(p.Maximum * 10)) return false;
        Fire(new Option([], Event.ValueDone, 0));
        return Feed(b);
    }

    // Can the digits so far still become a value inside the range? Works in tenths; while no dot
    // has been read, k more integer digits and an optional fractional digit may follow.
    private bool Feasible(ParameterRule p)
    {
        var lo = (long)Math.Round(p.Minimum * 10);
        var hi = (long)Math.Round(p.Maximum * 10);
        var allowFraction = p.Kind == ValueKind.Number;
        var fracSpan = allowFraction ? 9 : 0;
        if (_intDigits == 0)
            return _negative ? lo < 0 : true;
        if (_hasDot)
        {
            var baseT = _intValue * 10 + _fracValue;
            var top = _fracDigits == 0 ? baseT + 9 : baseT;
            return Intersects(baseT, top);
        }
        var bound = Math.Max(Math.Abs(lo), Math.Abs(hi));
        var maxExtraDigits = _intValue == 0 ? 0 : 9 - _intDigits; // "0" cannot be followed by digits
        long scale = 1;
        for (var k = 0; k <= maxExtraDigits; k++, scale *= 10)
        {
            var from = _intValue * scale * 10;
            var to = ((_intValue + 1) * scale - 1) * 10 + fracSpan;
            if (Intersects(from, to)) return true;
            if (from > bound) break; // more digits only make it larger
        }
        return false;

        bool Intersects(long a, long b)
        {
            var (x, y) = _negative ? (-b, -a) : (a, b);
            return x <= hi && y >= lo;
        }
    }

    // ---- spans: verbatim pieces of the utterance ----

    private bool FeedSpan(byte b)
    {
        var src = _spans.Bytes;
        var atBoundary = _contentBytes == 0 || _spans.IsUnitStart[_ends[0]];
        if (b == '"' && atBoundary)
        {
            // Close: non-empty, and not ending in white space.
            if (_contentBytes == 0 || _spans.IsSpaceUnit[_ends[0] - 1]) return false;
            Fire(new Option([], Event.ValueDone, 0));
            return true;
        }
        if (_contentBytes == 0)
        {
            var starts = _spans.Starts;
            if (_ends.Length < starts.Length) _ends = new int[starts.Length];
            var n = 0;
            foreach (var s in starts)
                if (src[s] == b) _ends[n++] = s + 1;
            if (n == 0) return false;
            _endCount = n;
            _spanStart = _ends[0] - 1;
        }
        else
        {
            var n = 0;
            var firstStart = -1;
            for (var i = 0; i < _endCount; i++)
            {
                var e = _ends[i];
                if (e < src.Length && src[e] == b)
                {
                    if (firstStart < 0) firstStart = e - _contentBytes;
                    _ends[n++] = e + 1;
                }
            }
            if (n == 0) return false;
            _endCount = n;
            _spanStart = firstStart;
        }
        _contentBytes++;
        // Units begun so far (a partly read character counts): at most max_length.
        var units = _spans.UnitsBefore[_ends[0]] - _spans.UnitsBefore[_spanStart];
        return units <= CurrentParameter.MaxLength;
    }

    // ---- free strings (not used by the shipped catalog; any printable text without escapes) ----

    private bool FeedFreeString(byte b)
    {
        if (_utf8Pending > 0)
        {
            if ((b & 0xC0) != 0x80) return false;
            _utf8Pending--;
            return true;
        }
        if (b == '"')
        {
            if (_freeUnits == 0) return false;
            Fire(new Option([], Event.ValueDone, 0));
            return true;
        }
        if (b < 0x20 || b == '\\' || (b & 0xC0) == 0x80 || b >= 0xF8) return false;
        _utf8Pending = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
        return ++_freeUnits <= CurrentParameter.MaxLength;
    }
}
