using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>kuorum.v1.Lock over the fake store.</summary>
internal sealed class FakeLockService(FakeCluster cluster) : Kuorum.Api.V1.Lock.LockBase
{
    public override Task<LockResponse> Acquire(LockRequest request, ServerCallContext context)
    {
        cluster.Enter("Lock.Acquire");
        return cluster.Store.AcquireAsync(request, context.CancellationToken);
    }

    public override Task<UnlockResponse> Release(UnlockRequest request, ServerCallContext context)
    {
        cluster.Enter("Lock.Release");
        return Task.FromResult(cluster.Store.Release(request));
    }
}
