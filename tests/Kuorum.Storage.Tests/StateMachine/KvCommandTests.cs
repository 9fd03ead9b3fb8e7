using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage.Tests.StateMachine;

public sealed class KvCommandTests
{
    private static byte[] B(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Encode_Put_DecodesToTheSameCommand()
    {
        var decoded = KvCommand.Decode(KvCommand.Put(B("alpha"), B("one")).Encode());

        Assert.Equal(KvCommandKind.Put, decoded.Kind);
        Assert.Equal(B("alpha"), decoded.Key.ToArray());
        Assert.Equal(B("one"), decoded.Value.ToArray());
    }

    [Fact]
    public void Encode_PutWithEmptyValue_DecodesToAnEmptyValue()
    {
        var decoded = KvCommand.Decode(KvCommand.Put(B("k"), ReadOnlyMemory<byte>.Empty).Encode());

        Assert.Equal(KvCommandKind.Put, decoded.Kind);
        Assert.Equal(B("k"), decoded.Key.ToArray());
        Assert.True(decoded.Value.IsEmpty);
    }

    [Fact]
    public void Encode_Delete_DecodesToTheSameCommandWithLeadingKindByte()
    {
        var bytes = KvCommand.Delete(B("gone")).Encode();
        var decoded = KvCommand.Decode(bytes);

        Assert.Equal((byte)KvCommandKind.Delete, bytes[0]);
        Assert.Equal(KvCommandKind.Delete, decoded.Kind);
        Assert.Equal(B("gone"), decoded.Key.ToArray());
    }

    [Fact]
    public void Put_KeyOverLimit_ThrowsNamingTheLimit()
    {
        var error = Assert.Throws<ArgumentException>(() => KvCommand.Put(new byte[5000], B("v")));

        Assert.Contains("key is 5000 bytes; the limit is 4096 (KvLimits.MaxKeyBytes)", error.Message);
    }

    [Fact]
    public void Put_EmptyKey_ThrowsNamingTheLimit()
    {
        var error = Assert.Throws<ArgumentException>(() => KvCommand.Put(ReadOnlyMemory<byte>.Empty, B("v")));

        Assert.Contains("key is empty", error.Message);
        Assert.Contains("KvLimits.MaxKeyBytes", error.Message);
    }

    [Fact]
    public void Put_ValueOverLimit_ThrowsNamingTheLimit()
    {
        var error = Assert.Throws<ArgumentException>(() => KvCommand.Put(B("k"), new byte[(1 << 20) + 1]));

        Assert.Contains($"value is {(1 << 20) + 1} bytes; the limit is {1 << 20} (KvLimits.MaxValueBytes)", error.Message);
    }

    [Fact]
    public void Put_ValueAtLimit_IsAccepted()
    {
        var command = KvCommand.Put(B("k"), new byte[1 << 20]);

        Assert.Equal(1 << 20, command.Value.Length);
    }

    [Fact]
    public void Delete_KeyOverConfiguredLimit_ThrowsNamingTheConfiguredLimit()
    {
        var limits = new KvLimits { MaxKeyBytes = 8 };

        var error = Assert.Throws<ArgumentException>(() => KvCommand.Delete(new byte[9], limits));

        Assert.Contains("key is 9 bytes; the limit is 8 (KvLimits.MaxKeyBytes)", error.Message);
    }

    [Fact]
    public void Put_ValueOverConfiguredLimit_ThrowsNamingTheConfiguredLimit()
    {
        var limits = new KvLimits { MaxValueBytes = 10 };

        var error = Assert.Throws<ArgumentException>(() => KvCommand.Put(B("k"), new byte[11], limits));

        Assert.Contains("value is 11 bytes; the limit is 10 (KvLimits.MaxValueBytes)", error.Message);
    }

    [Theory]
    [InlineData(new byte[0], "found none")]
    [InlineData(new byte[] { 9, 1 }, "found 9")]
    [InlineData(new byte[] { 2 }, "empty key")]
    [InlineData(new byte[] { 1, 0, 0 }, "found 3")]
    [InlineData(new byte[] { 1, 9, 0, 0, 0, 65 }, "found 9")]
    [InlineData(new byte[] { 1, 0, 0, 0, 0, 65 }, "found 0")]
    public void Decode_MalformedBytes_ThrowsSayingWhatIsWrong(byte[] bytes, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => KvCommand.Decode(bytes));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Validate_MaxKeyBytesZero_ThrowsNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new KvLimits { MaxKeyBytes = 0 }.Validate());

        Assert.Contains("KvLimits.MaxKeyBytes", error.Message);
    }
}
