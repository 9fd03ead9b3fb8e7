using FASTER.core;

namespace Kuorum.Storage.StateMachine;

/// <summary>
/// A read's request and result. <see cref="WithValue"/> is set by the caller before the read (FASTER carries the output
/// through a pending read, so it also reaches a read completed from disk); the apply path only needs the revisions
/// and leaves it false, so updating a key never copies its old value out.
/// </summary>
internal struct KvReadOutput
{
    public bool WithValue;
    public StoredValue Stored;
}

/// <summary>
/// FASTER callbacks: writes are <see cref="SpanByteFunctions{Key, Output, Context}"/>'s (copy the value into the log,
/// in place when it fits); reads copy out the revisions, and the value only when asked.
/// </summary>
internal sealed class KvFunctions : SpanByteFunctions<SpanByte, KvReadOutput, Empty>
{
    public override bool SingleReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref KvReadOutput dst, ref ReadInfo readInfo)
    {
        dst.Stored = StoredValue.Read(value.AsReadOnlySpan(), dst.WithValue);
        return true;
    }

    public override bool ConcurrentReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref KvReadOutput dst, ref ReadInfo readInfo) =>
        SingleReader(ref key, ref input, ref value, ref dst, ref readInfo);
}
