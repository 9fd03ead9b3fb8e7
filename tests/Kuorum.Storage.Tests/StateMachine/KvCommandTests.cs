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
    public void Txn_KeysAndValuesPastMaxTxnBytes_ThrowsNamingTheLimit()
    {
        var limits = new KvLimits { MaxValueBytes = 1000, MaxTxnBytes = 2000 };

        // 1 + 999 + 1 + 999 = 2000 bytes: at the limit, allowed; one more byte in a compare's value is refused.
        KvCommand.Txn([], [KvOp.Put(B("a"), new byte[999]), KvOp.Put(B("b"), new byte[999])], [], limits);
        var error = Assert.Throws<ArgumentException>(() => KvCommand.Txn(
            [KvCompare.Value(B("c"), KvCompareOperator.Equal, B(""))],
            [KvOp.Put(B("a"), new byte[999])],
            [KvOp.Put(B("b"), new byte[999])],
            limits));

        Assert.Contains("txn carries 2001 bytes of keys and values; the limit is 2000 (KvLimits.MaxTxnBytes)", error.Message);
    }

    [Fact]
    public void Txn_DefaultLimits_RefuseManyLargeValuesPastOnePointFiveMebibytes()
    {
        var value = new byte[KvLimits.DefaultMaxValueBytes];
        var error = Assert.Throws<ArgumentException>(() => KvCommand.Txn([], [KvOp.Put(B("a"), value), KvOp.Put(B("b"), value)], []));

        Assert.Contains($"the limit is {3 << 19} (KvLimits.MaxTxnBytes)", error.Message);
    }

    [Fact]
    public void Validate_MaxTxnBytesZero_ThrowsNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new KvLimits { MaxTxnBytes = 0 }.Validate());

        Assert.Contains("KvLimits.MaxTxnBytes", error.Message);
    }

    [Fact]
    public void Validate_MaxKeyBytesZero_ThrowsNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new KvLimits { MaxKeyBytes = 0 }.Validate());

        Assert.Contains("KvLimits.MaxKeyBytes", error.Message);
    }

    [Fact]
    public void Encode_Txn_DecodesToTheSameComparesAndBranches()
    {
        var txn = KvCommand.Txn(
            [KvCompare.Value(B("a"), KvCompareOperator.Greater, B("v")), KvCompare.ModRevision(B("b"), KvCompareOperator.Less, -3)],
            [KvOp.Put(B("a"), B("x"), 7), KvOp.Get(B("b"))],
            [KvOp.Delete(B("c"))]);

        var decoded = KvCommand.Decode(txn.Encode());

        Assert.Equal(KvCommandKind.Txn, decoded.Kind);
        Assert.Equal(
            [(KvCompareTarget.Value, KvCompareOperator.Greater, "a", 0L, "v"), (KvCompareTarget.ModRevision, KvCompareOperator.Less, "b", -3L, "")],
            decoded.Compares.Select(c => (c.Target, c.Operator, S(c.Key), c.Number, S(c.Bytes))));
        Assert.Equal([(KvOpKind.Put, "a", "x", 7L), (KvOpKind.Get, "b", "", 0L)], decoded.Success.Select(o => (o.Kind, S(o.Key), S(o.Value), o.Lease)));
        Assert.Equal([(KvOpKind.Delete, "c")], decoded.Failure.Select(o => (o.Kind, S(o.Key))));
    }

    [Fact]
    public void Encode_LeaseCommandsAndLeasedPut_DecodeToTheSameCommands()
    {
        var grant = KvCommand.Decode(KvCommand.LeaseGrant(42, 3000).Encode());
        var revoke = KvCommand.Decode(KvCommand.LeaseRevoke(42).Encode());
        var leased = KvCommand.Put(B("k"), B("v"), 42).Encode();
        var plain = KvCommand.Put(B("k"), B("v"), 0).Encode();

        Assert.Equal((KvCommandKind.LeaseGrant, 42L, 3000L), (grant.Kind, grant.Lease, grant.TtlMilliseconds));
        Assert.Equal((KvCommandKind.LeaseRevoke, 42L), (revoke.Kind, revoke.Lease));
        Assert.Equal((byte)KvCommandKind.PutWithLease, leased[0]);
        Assert.Equal((byte)KvCommandKind.Put, plain[0]);
        var decoded = KvCommand.Decode(leased);
        Assert.Equal(("k", "v", 42L), (S(decoded.Key), S(decoded.Value), decoded.Lease));
    }

    [Fact]
    public void LeaseGrant_IdOrTtlNotPositive_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KvCommand.LeaseGrant(0, 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvCommand.LeaseGrant(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => KvCommand.Put(B("k"), B("v"), -1));
    }

    [Theory]
    [InlineData(new byte[] { 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 }, "found 14")]
    [InlineData(new byte[] { 3, 1, 0, 0, 0, 9, 0, 1, 0, 0, 0, 65, 0, 0, 0, 0, 0, 0, 0, 0 }, "compare target in 0..4, found 9")]
    [InlineData(new byte[] { 3, 9, 0, 0, 0, 0, 0 }, "room for its 9 compares")]
    [InlineData(new byte[] { 3, 0, 0, 0, 0, 2, 0, 0, 0, 2, 1, 0, 0, 0, 65, 2, 1, 0, 0, 0, 65, 0, 0, 0, 0 }, "key 41 written twice")]
    [InlineData(new byte[] { 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "ttl of at least 1, found 0")]
    [InlineData(new byte[] { 5, 0, 0, 0, 0, 0, 0, 0, 0 }, "lease of at least 1, found 0")]
    [InlineData(new byte[] { 6, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 65 }, "key length in 0..1, found 5")]
    public void Decode_MalformedNewKinds_ThrowsSayingWhatIsWrong(byte[] bytes, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => KvCommand.Decode(bytes));

        Assert.Contains(expected, error.Message);
    }

    private static string S(ReadOnlyMemory<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes.Span);
}
