using Grpc.Core;
using Grpc.Health.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>grpc.health.v1.Health answering what the test set in <see cref="FakeCluster.Serving"/>.</summary>
internal sealed class FakeHealthService(FakeCluster cluster) : Health.HealthBase
{
    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        cluster.Enter("Health.Check");
        return cluster.Serving switch
        {
            null => throw new RpcException(new Status(StatusCode.NotFound, "fake: no status registered yet")),
            true => Task.FromResult(new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.Serving }),
            false => Task.FromResult(new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.NotServing }),
        };
    }
}
