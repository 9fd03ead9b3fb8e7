using System.Buffers.Binary;
using System.Collections.Immutable;

namespace Kuorum.Raft;

/// <summary>
/// The members of a cluster: voters decide elections and commits, learners only receive the log.
/// Immutable; changes produce a new instance.
/// </summary>
public sealed class Membership : IEquatable<Membership>
{
    /// <summary>No members: the state of a node that is joining and has not received the log yet.</summary>
    public static readonly Membership Empty = new(ImmutableSortedSet<long>.Empty, ImmutableSortedSet<long>.Empty);

    /// <summary>Creates a membership.</summary>
    public Membership(IEnumerable<long> voters, IEnumerable<long>? learners = null)
    {
        Voters = voters.ToImmutableSortedSet();
        Learners = (learners ?? []).ToImmutableSortedSet();
        foreach (var id in Voters.Concat(Learners))
        {
            if (id <= 0)
            {
                throw new ArgumentException($"node ids must be positive; got {id}", nameof(voters));
            }
        }

        if (Voters.Overlaps(Learners))
        {
            throw new ArgumentException("a node cannot be both voter and learner", nameof(learners));
        }
    }

    /// <summary>Members that vote and count in quorums.</summary>
    public ImmutableSortedSet<long> Voters { get; }

    /// <summary>Members that receive the log but never vote or campaign.</summary>
    public ImmutableSortedSet<long> Learners { get; }

    /// <summary>Votes needed for a majority of <see cref="Voters"/>.</summary>
    public int Quorum => (Voters.Count / 2) + 1;

    /// <summary>True when <paramref name="id"/> is a voter or a learner.</summary>
    public bool Contains(long id) => Voters.Contains(id) || Learners.Contains(id);

    /// <summary>Voters and learners, voters first.</summary>
    public IEnumerable<long> All => Voters.Concat(Learners);

    /// <summary>Checks <paramref name="change"/> against this membership; returns null when allowed, else why not.</summary>
    public string? Validate(ConfChange change) => change.Type switch
    {
        _ when change.NodeId <= 0 => $"node id must be positive; got {change.NodeId}",
        ConfChangeType.AddLearner when Contains(change.NodeId) => $"node {change.NodeId} is already a member",
        ConfChangeType.PromoteLearner when !Learners.Contains(change.NodeId) => $"node {change.NodeId} is not a learner; only learners can be promoted",
        ConfChangeType.RemoveMember when !Contains(change.NodeId) => $"node {change.NodeId} is not a member",
        ConfChangeType.RemoveMember when Voters.Count == 1 && Voters.Contains(change.NodeId) => "cannot remove the last voter",
        ConfChangeType.AddLearner or ConfChangeType.PromoteLearner or ConfChangeType.RemoveMember => null,
        _ => $"unknown change type {(int)change.Type}; allowed: AddLearner, PromoteLearner, RemoveMember",
    };

    /// <summary>Returns the membership after <paramref name="change"/>, which must be valid.</summary>
    public Membership Apply(ConfChange change)
    {
        if (Validate(change) is { } error)
        {
            throw new InvalidOperationException(error);
        }

        return change.Type switch
        {
            ConfChangeType.AddLearner => new Membership(Voters, Learners.Add(change.NodeId)),
            ConfChangeType.PromoteLearner => new Membership(Voters.Add(change.NodeId), Learners.Remove(change.NodeId)),
            _ => new Membership(Voters.Remove(change.NodeId), Learners.Remove(change.NodeId)),
        };
    }

    /// <summary>Encodes the voters as the data of a <see cref="EntryType.Bootstrap"/> entry.</summary>
    public byte[] EncodeBootstrap()
    {
        var bytes = new byte[4 + (8 * Voters.Count)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, Voters.Count);
        var offset = 4;
        foreach (var id in Voters)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(offset), id);
            offset += 8;
        }

        return bytes;
    }

    /// <summary>Decodes <see cref="EncodeBootstrap"/> data; null when it is not well formed.</summary>
    public static Membership? DecodeBootstrap(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            return null;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (count < 1 || data.Length != 4 + (8 * (long)count))
        {
            return null;
        }

        var voters = new long[count];
        for (var i = 0; i < count; i++)
        {
            voters[i] = BinaryPrimitives.ReadInt64LittleEndian(data[(4 + (8 * i))..]);
        }

        return voters.All(v => v > 0) && voters.Distinct().Count() == count ? new Membership(voters) : null;
    }

    /// <inheritdoc />
    public bool Equals(Membership? other) =>
        other is not null && Voters.SetEquals(other.Voters) && Learners.SetEquals(other.Learners);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Membership);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Voters.Count, Learners.Count, Voters.FirstOrDefault());

    /// <inheritdoc />
    public override string ToString() =>
        $"voters [{string.Join(",", Voters)}]" + (Learners.IsEmpty ? "" : $" learners [{string.Join(",", Learners)}]");
}
