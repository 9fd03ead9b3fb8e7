namespace Kuorum.Client;

/// <summary>The leadership changed: a new leader, a new term, or the leader is no longer known.</summary>
public sealed class LeadershipChangedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    /// <param name="previous">The leadership before the change.</param>
    /// <param name="current">The leadership now.</param>
    public LeadershipChangedEventArgs(LeadershipState previous, LeadershipState current)
    {
        Previous = previous;
        Current = current;
    }

    /// <summary>The leadership before the change.</summary>
    public LeadershipState Previous { get; }

    /// <summary>The leadership now.</summary>
    public LeadershipState Current { get; }
}
