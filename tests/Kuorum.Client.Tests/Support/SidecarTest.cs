using Kuorum.Client.Tests.Fakes;
using Microsoft.Extensions.Logging;

namespace Kuorum.Client.Tests.Support;

/// <summary>
/// Base of the tests that need a running sidecar: a fresh <see cref="FakeSidecar"/> per test and a
/// <see cref="KuorumClient"/> on its TCP address. Tests that use only <see cref="Client"/> can run unchanged against
/// a real agent by starting one here instead; those that also reach into <see cref="Sidecar"/> need the fake's
/// fault injection.
/// </summary>
public abstract class SidecarTest : IAsyncLifetime
{
    private readonly List<KuorumClient> _clients = [];

    internal FakeSidecar Sidecar { get; private set; } = null!;

    /// <summary>What the clients logged, for failure messages.</summary>
    internal RecordingLoggerProvider Logs { get; } = new();

    internal FakeCluster Cluster => Sidecar.Cluster;

    protected KuorumClient Client { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Sidecar = await FakeSidecar.StartNewAsync();
        Client = NewClient();
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await Sidecar.DisposeAsync();
    }

    /// <summary>Another client of the same sidecar (another application instance), disposed after the test.</summary>
    protected KuorumClient NewClient(KuorumClientOptions? options = null)
    {
        options ??= Sidecar.TcpOptions();
        options.LoggerFactory ??= LoggerFactory.Create(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        var client = new KuorumClient(options);
        _clients.Add(client);
        return client;
    }
}
