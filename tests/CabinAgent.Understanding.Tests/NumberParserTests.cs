using CabinAgent.Understanding.Deterministic;
using Xunit;

namespace CabinAgent.Understanding.Tests;

public class NumberParserTests
{
    [Theory]
    [InlineData("零", 0)]
    [InlineData("〇", 0)]
    [InlineData("一", 1)]
    [InlineData("两", 2)]
    [InlineData("俩", 2)]
    [InlineData("十", 10)]
    [InlineData("十一", 11)]
    [InlineData("二十", 20)]
    [InlineData("二十三", 23)]
    [InlineData("九十九", 99)]
    [InlineData("一百", 100)]
    [InlineData("一百零五", 105)]
    [InlineData("一百五", 150)]
    [InlineData("一百二十", 120)]
    [InlineData("两百", 200)]
    [InlineData("一千零一", 1001)]
    [InlineData("一万五", 15000)]
    [InlineData("一零五", 105)]
    [InlineData("二十三度五", 23.5)]
    [InlineData("二十三点五", 23.5)]
    [InlineData("二十三度半", 23.5)]
    [InlineData("二十三点二五", 23.25)]
    [InlineData("零点五", 0.5)]
    [InlineData("百分之五十", 50)]
    [InlineData("百分之百", 100)]
    [InlineData("负二", -2)]
    [InlineData("25", 25)]
    [InlineData("23.5", 23.5)]
    [InlineData("23点5", 23.5)]
    [InlineData("-2", -2)]
    [InlineData("百分之30", 30)]
    [InlineData("zero", 0)]
    [InlineData("seven", 7)]
    [InlineData("twenty", 20)]
    [InlineData("twenty three", 23)]
    [InlineData("twenty-three", 23)]
    [InlineData("fifty", 50)]
    [InlineData("a hundred", 100)]
    [InlineData("one hundred and five", 105)]
    [InlineData("two hundred", 200)]
    [InlineData("twenty three point five", 23.5)]
    [InlineData("minus two", -2)]
    public void Parses_exact_values(string text, double expected)
    {
        Assert.True(NumberParser.TryParse(text, out var value, out var how), $"'{text}' not parsed");
        Assert.Equal(expected, value, precision: 9);
        Assert.False(string.IsNullOrEmpty(how));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("十百")]
    [InlineData("二三十")]
    [InlineData("point five")]
    [InlineData("three four")]
    [InlineData("twenty eleven")]
    [InlineData("hello")]
    [InlineData("百分之")]
    [InlineData("二十三点")]
    [InlineData("负")]
    public void Rejects_what_is_not_a_number(string text)
    {
        Assert.False(NumberParser.TryParse(text, out _, out _));
    }

    [Theory]
    [InlineData("二十三度五", "Chinese numeral")]
    [InlineData("23.5", "digits")]
    [InlineData("twenty three", "English number words")]
    [InlineData("百分之五十", "Chinese numeral, 百分之 (percent)")]
    [InlineData("负二", "Chinese numeral, negative")]
    public void Says_how_it_read_the_number(string text, string expected)
    {
        Assert.True(NumberParser.TryParse(text, out _, out var how));
        Assert.Equal(expected, how);
    }
}
