namespace Kuorum.Operator.Reconciliation;

/// <summary>Settings of the ConsensusCluster reconciler.</summary>
internal sealed class ReconcilerSettings
{
    /// <summary>The agent image of clusters that do not set one.</summary>
    public required string DefaultAgentImage { get; init; }

    /// <summary>How often a settled cluster is looked at again (status comes from the agents, which send no events).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How soon a cluster whose membership is changing is looked at again.</summary>
    public TimeSpan ProgressPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one Admin call may take.</summary>
    public TimeSpan AdminTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A learner within this many entries of the leader's commit index is promoted.</summary>
    public long PromotionLag { get; init; } = 16;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
