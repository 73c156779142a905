using CabinAgent.Messaging;

namespace CabinAgent.IntegrationTests;

/// <summary>What may go into an MQTT 5 string field (topics, user properties): what mosquitto would cut the connection for is refused.</summary>
public class MqttStringsTests
{
    [Theory]
    [InlineData("fault-17")]
    [InlineData("打开车窗 🚗")]
    [InlineData("")]
    [InlineData("tab-free, printable: ~!@#$%^&*()")]
    public void PrintableTextIsValid(string value) => Assert.Null(MqttStrings.Check(value));

    [Theory]
    [InlineData("a\u0000b", "control character U+0000 at 1")]
    [InlineData("\u0001", "control character U+0001 at 0")]
    [InlineData("line\nbreak", "control character U+000A at 4")]
    [InlineData("del\u007f", "control character U+007F at 3")]
    [InlineData("c1\u0085", "control character U+0085 at 2")]
    [InlineData("\ufdd0", "non-character U+FDD0 at 0")]
    [InlineData("\uffff", "non-character U+FFFF at 0")]
    [InlineData("\U0001FFFE", "non-character U+1FFFE at 0")]
    public void WhatABrokerRefusesIsNamed(string value, string reason) => Assert.Equal(reason, MqttStrings.Check(value));

    [Fact]
    public void UnpairedSurrogatesAreRefused()
    {
        // Not theory data: xunit's serialisation of test cases would replace a lone surrogate with U+FFFD.
        Assert.Equal("unpaired surrogate U+D800 at 1", MqttStrings.Check("x" + (char)0xD800));
        Assert.Equal("unpaired surrogate U+DC00 at 0", MqttStrings.Check((char)0xDC00 + "y"));
        Assert.Equal("unpaired surrogate U+DC00 at 1", MqttStrings.Check("a" + (char)0xDC00 + (char)0xD800));
        Assert.Null(MqttStrings.Check("a\U0001F697"));
    }

    [Fact]
    public void AStringOverTheLengthPrefixIsRefused() =>
        Assert.Equal("65538 bytes, over the 65535-byte limit", MqttStrings.Check(new string('开', 21_846)));
}
