using System.Text;
using CabinAgent.Llm.Decoding;
using CabinAgent.Llm.Prompting;

namespace CabinAgent.Training.Tests;

/// <summary>The NONE answer exists only in the grammar the tier uses for a cabin model.</summary>
public sealed class NoneGrammarTests
{
    private static readonly byte[] None = Encoding.UTF8.GetBytes(CabinPrompt.Answer(PlumbingCorpus.Catalog, CabinPrompt.NoneAction, []));

    [Fact]
    public void The_cabin_grammar_accepts_none_as_a_complete_answer()
    {
        var state = new CommandGrammar(PlumbingCorpus.Catalog, allowNone: true).Start("今天天气不错");
        Assert.True(state.Feed(None));
        Assert.True(state.IsComplete);
        Assert.Equal(CabinPrompt.NoneAction, state.Action);
    }

    [Fact]
    public void The_catalog_grammar_of_a_general_model_refuses_none()
    {
        var state = new CommandGrammar(PlumbingCorpus.Catalog).Start("今天天气不错");
        Assert.False(state.Feed(None));
    }

    [Fact]
    public void None_takes_no_parameters()
    {
        var state = new CommandGrammar(PlumbingCorpus.Catalog, allowNone: true).Start("今天天气不错");
        Assert.False(state.Feed(Encoding.UTF8.GetBytes("{\"action\":\"NONE\",\"parameters\":{\"artist\"")));
    }
}
