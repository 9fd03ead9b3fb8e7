using Google.Protobuf;
using Kuorum.Api.V1;

namespace Kuorum.Client;

/// <summary>
/// An atomic transaction, built fluently: if every <c>If…</c> comparison holds, the <c>Then…</c> operations run,
/// otherwise the <c>Else…</c> ones, all at one revision. Start one with <see cref="KuorumClient.Transaction"/>.
/// </summary>
/// <example>
/// <code>
/// var result = await client.Transaction()
///     .IfModRevision("config", CompareOperator.Equal, seen.ModRevision)
///     .ThenPut("config", updated)
///     .ElseGet("config")
///     .CommitAsync(ct);
/// </code>
/// </example>
public sealed class KuorumTransaction
{
    private readonly KuorumClient _client;
    private readonly TxnRequest _request = new();

    internal KuorumTransaction(KuorumClient client)
    {
        _client = client;
    }

    /// <summary>Compares the key's version (writes since creation; 0 when the key does not exist).</summary>
    /// <param name="key">The key.</param>
    /// <param name="op">How to compare.</param>
    /// <param name="version">The value to compare with.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfVersion(KuorumKey key, CompareOperator op, long version) =>
        AddCompare(key, op, Compare.Types.Target.Version, c => c.Version = version);

    /// <summary>Compares the key's create revision (0 when the key does not exist).</summary>
    /// <param name="key">The key.</param>
    /// <param name="op">How to compare.</param>
    /// <param name="revision">The value to compare with.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfCreateRevision(KuorumKey key, CompareOperator op, long revision) =>
        AddCompare(key, op, Compare.Types.Target.Create, c => c.CreateRevision = revision);

    /// <summary>Compares the key's mod revision (0 when the key does not exist).</summary>
    /// <param name="key">The key.</param>
    /// <param name="op">How to compare.</param>
    /// <param name="revision">The value to compare with.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfModRevision(KuorumKey key, CompareOperator op, long revision) =>
        AddCompare(key, op, Compare.Types.Target.Mod, c => c.ModRevision = revision);

    /// <summary>Compares the key's value, byte by byte.</summary>
    /// <param name="key">The key.</param>
    /// <param name="op">How to compare.</param>
    /// <param name="value">The value to compare with.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfValue(KuorumKey key, CompareOperator op, ReadOnlyMemory<byte> value) =>
        AddCompare(key, op, Compare.Types.Target.Value, c => c.Value = ByteString.CopyFrom(value.Span));

    /// <summary>Compares the key's value with the UTF-8 encoding of <paramref name="value"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="op">How to compare.</param>
    /// <param name="value">The value to compare with.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfValue(KuorumKey key, CompareOperator op, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return AddCompare(key, op, Compare.Types.Target.Value, c => c.Value = ByteString.CopyFromUtf8(value));
    }

    /// <summary>Compares the lease the key is bound to (0 for none).</summary>
    /// <param name="key">The key.</param>
    /// <param name="op">How to compare.</param>
    /// <param name="leaseId">The lease id to compare with.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfLease(KuorumKey key, CompareOperator op, long leaseId) =>
        AddCompare(key, op, Compare.Types.Target.Lease, c => c.Lease = leaseId);

    /// <summary>Requires the key to exist.</summary>
    /// <param name="key">The key.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfExists(KuorumKey key) => IfVersion(key, CompareOperator.Greater, 0);

    /// <summary>Requires the key not to exist.</summary>
    /// <param name="key">The key.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction IfMissing(KuorumKey key) => IfVersion(key, CompareOperator.Equal, 0);

    /// <summary>When the comparisons hold, writes <paramref name="value"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="leaseId">Bind the key to this lease; 0 for none.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ThenPut(KuorumKey key, ReadOnlyMemory<byte> value, long leaseId = 0) =>
        Add(_request.Success, Put(key, ByteString.CopyFrom(value.Span), leaseId));

    /// <summary>When the comparisons hold, writes the UTF-8 encoding of <paramref name="value"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="leaseId">Bind the key to this lease; 0 for none.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ThenPut(KuorumKey key, string value, long leaseId = 0) =>
        Add(_request.Success, Put(key, Utf8(value), leaseId));

    /// <summary>When the comparisons hold, deletes the key.</summary>
    /// <param name="key">The key.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ThenDelete(KuorumKey key) => Add(_request.Success, Delete(key));

    /// <summary>When the comparisons hold, reads the key (after the branch's earlier operations).</summary>
    /// <param name="key">The key.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ThenGet(KuorumKey key) => Add(_request.Success, Get(key));

    /// <summary>When a comparison fails, writes <paramref name="value"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="leaseId">Bind the key to this lease; 0 for none.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ElsePut(KuorumKey key, ReadOnlyMemory<byte> value, long leaseId = 0) =>
        Add(_request.Failure, Put(key, ByteString.CopyFrom(value.Span), leaseId));

    /// <summary>When a comparison fails, writes the UTF-8 encoding of <paramref name="value"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="leaseId">Bind the key to this lease; 0 for none.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ElsePut(KuorumKey key, string value, long leaseId = 0) =>
        Add(_request.Failure, Put(key, Utf8(value), leaseId));

    /// <summary>When a comparison fails, deletes the key.</summary>
    /// <param name="key">The key.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ElseDelete(KuorumKey key) => Add(_request.Failure, Delete(key));

    /// <summary>When a comparison fails, reads the key: the usual way to learn why.</summary>
    /// <param name="key">The key.</param>
    /// <returns>This transaction.</returns>
    public KuorumTransaction ElseGet(KuorumKey key) => Add(_request.Failure, Get(key));

    /// <summary>Sends the transaction. It is applied at most once: it is not retried.</summary>
    /// <param name="cancellationToken">Cancels the call (the transaction may still have been applied).</param>
    /// <returns>Which branch ran and its results.</returns>
    public async Task<TransactionResult> CommitAsync(CancellationToken cancellationToken = default)
    {
        var request = _request.Clone();
        var response = await _client.CallOnceAsync("Txn", ct => _client.KeyValueService.TxnAsync(request, cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        var results = new List<TransactionOpResult>(response.Responses.Count);
        foreach (var op in response.Responses)
        {
            results.Add(op.ResponseCase switch
            {
                ResponseOp.ResponseOneofCase.Get => new TransactionOpResult(
                    TransactionOpKind.Get, op.Get.Kv is null ? null : new KeyValueEntry(op.Get.Kv), 0),
                ResponseOp.ResponseOneofCase.Put => new TransactionOpResult(TransactionOpKind.Put, null, 0),
                ResponseOp.ResponseOneofCase.Delete => new TransactionOpResult(TransactionOpKind.Delete, null, op.Delete.Deleted),
                _ => throw new KuorumException($"the sidecar answered a transaction with an unknown operation result ({op.ResponseCase})."),
            });
        }

        return new TransactionResult(response.Succeeded, response.Header?.Revision ?? 0, results);
    }

    private static ByteString Utf8(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return ByteString.CopyFromUtf8(value);
    }

    private static RequestOp Put(KuorumKey key, ByteString value, long leaseId) =>
        new() { Put = new PutRequest { Key = key.Raw, Value = value, Lease = leaseId } };

    private static RequestOp Delete(KuorumKey key) => new() { Delete = new DeleteRequest { Key = key.Raw } };

    private static RequestOp Get(KuorumKey key) => new() { Get = new GetRequest { Key = key.Raw } };

    private KuorumTransaction Add(Google.Protobuf.Collections.RepeatedField<RequestOp> branch, RequestOp op)
    {
        branch.Add(op);
        return this;
    }

    private KuorumTransaction AddCompare(KuorumKey key, CompareOperator op, Compare.Types.Target target, Action<Compare> setOperand)
    {
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "must be Equal, Greater, Less or NotEqual.");
        }

        var compare = new Compare { Key = key.Raw, Target = target, Result = (Compare.Types.Result)op };
        setOperand(compare);
        _request.Compare.Add(compare);
        return this;
    }
}
