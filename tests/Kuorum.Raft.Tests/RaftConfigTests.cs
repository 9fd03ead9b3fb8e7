namespace Kuorum.Raft.Tests;

/// <summary><see cref="RaftConfig.Validate"/> names the setting out of bounds.</summary>
public sealed class RaftConfigTests
{
    private static RaftConfig Valid() => new() { Id = 1, ElectionTicks = 10, HeartbeatTicks = 1, Random = new SeededRandom(1) };

    private static RaftConfig Invalid(string setting) => setting switch
    {
        nameof(RaftConfig.Id) => new() { Id = 0, Random = new SeededRandom(1) },
        nameof(RaftConfig.HeartbeatTicks) => new() { Id = 1, HeartbeatTicks = 0, Random = new SeededRandom(1) },
        nameof(RaftConfig.ElectionTicks) => new() { Id = 1, HeartbeatTicks = 5, ElectionTicks = 10, Random = new SeededRandom(1) },
        nameof(RaftConfig.LeaseTicks) => new() { Id = 1, LeaseTicks = -1, Random = new SeededRandom(1) },
        nameof(RaftConfig.MaxAppendBytes) => new() { Id = 1, MaxAppendBytes = 0, Random = new SeededRandom(1) },
        nameof(RaftConfig.MaxInflightMessages) => new() { Id = 1, MaxInflightMessages = 0, Random = new SeededRandom(1) },
        nameof(RaftConfig.MaxInflightBytes) => new() { Id = 1, MaxAppendBytes = 1000, MaxInflightBytes = 999, Random = new SeededRandom(1) },
        nameof(RaftConfig.MaxUncommittedBytes) => new() { Id = 1, MaxUncommittedBytes = 0, Random = new SeededRandom(1) },
        nameof(RaftConfig.MaxApplyBytesPerReady) => new() { Id = 1, MaxApplyBytesPerReady = 0, Random = new SeededRandom(1) },
        nameof(RaftConfig.MaxPromotionLag) => new() { Id = 1, MaxPromotionLag = -1, Random = new SeededRandom(1) },
        nameof(RaftConfig.SnapshotChunkBytes) => new() { Id = 1, SnapshotChunkBytes = 0, Random = new SeededRandom(1) },
        nameof(RaftConfig.Random) => new() { Id = 1, Random = null! },
        _ => throw new ArgumentOutOfRangeException(nameof(setting), setting, null),
    };

    [Fact]
    public void Validate_Defaults_Pass()
    {
        Valid().Validate();
    }

    [Theory]
    [InlineData(nameof(RaftConfig.Id))]
    [InlineData(nameof(RaftConfig.HeartbeatTicks))]
    [InlineData(nameof(RaftConfig.ElectionTicks))]
    [InlineData(nameof(RaftConfig.LeaseTicks))]
    [InlineData(nameof(RaftConfig.MaxAppendBytes))]
    [InlineData(nameof(RaftConfig.MaxInflightMessages))]
    [InlineData(nameof(RaftConfig.MaxInflightBytes))]
    [InlineData(nameof(RaftConfig.MaxUncommittedBytes))]
    [InlineData(nameof(RaftConfig.MaxApplyBytesPerReady))]
    [InlineData(nameof(RaftConfig.MaxPromotionLag))]
    [InlineData(nameof(RaftConfig.SnapshotChunkBytes))]
    [InlineData(nameof(RaftConfig.Random))]
    public void Validate_SettingOutOfBounds_ThrowsNamingIt(string setting)
    {
        var error = Assert.Throws<ArgumentException>(() => Invalid(setting).Validate());

        Assert.Equal(setting, error.ParamName);
        Assert.Contains($"Raft setting {setting} ", error.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    public void Validate_LeaseNotBelowElectionTimeout_ThrowsNamingLeaseTicks(int leaseTicks)
    {
        var config = new RaftConfig { Id = 1, ElectionTicks = 10, LeaseTicks = leaseTicks, Random = new SeededRandom(1) };

        var error = Assert.Throws<ArgumentException>(config.Validate);

        Assert.Equal(nameof(RaftConfig.LeaseTicks), error.ParamName);
        Assert.Contains(nameof(RaftConfig.ElectionTicks), error.Message);
    }

    [Fact]
    public void Validate_LeaseWithoutCheckQuorum_ThrowsNamingBoth()
    {
        var config = new RaftConfig { Id = 1, CheckQuorum = false, LeaseTicks = 5, Random = new SeededRandom(1) };

        var error = Assert.Throws<ArgumentException>(config.Validate);

        Assert.Equal(nameof(RaftConfig.LeaseTicks), error.ParamName);
        Assert.Contains(nameof(RaftConfig.CheckQuorum), error.Message);
    }

    [Fact]
    public void Validate_NoLeaseWithoutCheckQuorum_Passes()
    {
        new RaftConfig { Id = 1, CheckQuorum = false, LeaseTicks = 0, Random = new SeededRandom(1) }.Validate();
    }

    [Fact]
    public void RaftNode_InvalidConfig_IsRefusedAtConstruction()
    {
        var error = Assert.Throws<ArgumentException>(() => new RaftNode(Invalid(nameof(RaftConfig.HeartbeatTicks)), RaftStorageState.Empty));

        Assert.Equal(nameof(RaftConfig.HeartbeatTicks), error.ParamName);
    }
}
