using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.Net.Client;
using Kuorum.Api.V1;

namespace Kuorum.Demo;

/// <summary>
/// One agent process on this machine: the built <c>kuorum-agent.dll</c> run by <c>dotnet</c> (or the native executable
/// named by KUORUM_AGENT_EXE), on loopback ports of
/// its own, with its output kept. It is killed (SIGKILL) or stopped (SIGTERM) by its PID only, and restarts on the
/// same data directory and ports.
/// </summary>
public sealed partial class LocalAgent : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly System.Threading.Lock _lock = new();
    private static readonly HashSet<int> _handedOut = [];
    private Process? _process;
    private GrpcChannel? _channel;

    /// <summary>Describes agent <paramref name="id"/> with fresh loopback ports; <see cref="Start"/> runs it.</summary>
    public LocalAgent(long id, string dataDirectory, IReadOnlyList<string> args)
    {
        Id = id;
        DataDirectory = dataDirectory;
        Args = args;
        PeerPort = FreePort();
        ApiPort = FreePort();
        AdminPort = FreePort();
    }

    /// <summary>Node id.</summary>
    public long Id { get; }

    /// <summary>Data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>Arguments added to every start (timing, limits).</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>Peer port.</summary>
    public int PeerPort { get; }

    /// <summary>Application API port (127.0.0.1).</summary>
    public int ApiPort { get; }

    /// <summary>Admin HTTP port.</summary>
    public int AdminPort { get; }

    /// <summary>host:port of the peer port.</summary>
    public string PeerAddress => $"127.0.0.1:{PeerPort}";

    /// <summary>The process id while running.</summary>
    public int? Pid => IsRunning ? _process!.Id : null;

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The exit code once the process exited.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>Everything the process printed.</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Channel to the application API. It outlives restarts of the process (calls in flight fail with UNAVAILABLE) and
    /// reconnects within half a second of the agent being back.
    /// </summary>
    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress($"http://127.0.0.1:{ApiPort}", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), EnableMultipleHttp2Connections = true },
        InitialReconnectBackoff = TimeSpan.FromMilliseconds(50),
        MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
    });

    /// <summary>KeyValue client.</summary>
    public KeyValue.KeyValueClient Kv => new(Channel);

    /// <summary>Leadership client.</summary>
    public Leadership.LeadershipClient Leadership => new(Channel);

    /// <summary>Admin client.</summary>
    public Admin.AdminClient Admin => new(Channel);

    /// <summary>Lease client.</summary>
    public Lease.LeaseClient Lease => new(Channel);

    /// <summary>Lock client.</summary>
    public Api.V1.Lock.LockClient Lock => new(Channel);

    /// <summary>Where the agent was built: beside this program's build (same configuration), else the KUORUM_AGENT_DLL variable.</summary>
    public static string AgentDll
    {
        get
        {
            if (Environment.GetEnvironmentVariable("KUORUM_AGENT_DLL") is { Length: > 0 } configured)
            {
                return configured;
            }

            var here = AppContext.BaseDirectory.TrimEnd('/'); // <project>/bin/<Configuration>/net10.0
            var configuration = new DirectoryInfo(here).Parent!.Name;
            var root = here;
            while (!File.Exists(Path.Combine(root, "Operator.sln")))
            {
                root = Path.GetDirectoryName(root) ?? throw new FileNotFoundException("Operator.sln not found above " + here);
            }

            var dll = Path.Combine(root, "src", "Kuorum.Agent", "bin", configuration, "net10.0", "kuorum-agent.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"the agent is not built for {configuration}: run make build", dll);
        }
    }

    /// <summary>Starts the process, bootstrapping from (or rejoining) <paramref name="peers"/> (id=host:port,…).</summary>
    public void Start(string peers, params string[] more)
    {
        // KUORUM_AGENT_EXE names a native agent executable (make publish: Native AOT, as shipped); else dotnet runs the dll.
        var executable = Environment.GetEnvironmentVariable("KUORUM_AGENT_EXE");
        var start = new ProcessStartInfo(executable is { Length: > 0 } ? executable : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (executable is not { Length: > 0 })
        {
            start.ArgumentList.Add(AgentDll);
        }

        string[] fixedArgs =
        [
            "--node-id", Id.ToString(CultureInfo.InvariantCulture), "--data-dir", DataDirectory, "--bind-address", "127.0.0.1",
            "--peer-port", PeerPort.ToString(CultureInfo.InvariantCulture), "--api-port", ApiPort.ToString(CultureInfo.InvariantCulture),
            "--admin-port", AdminPort.ToString(CultureInfo.InvariantCulture), "--peers", peers,
        ];
        foreach (var arg in fixedArgs.Concat(Args).Concat(more))
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_lock)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>SIGKILL, and waits for the exit.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: false);
            await p.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM, then waits for the exit (SIGKILL after <paramref name="timeout"/>).</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process is { HasExited: false } p)
        {
            _ = SendSignal(p.Id, 15);
            using var wait = new CancellationTokenSource(timeout);
            try
            {
                await p.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await KillAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until the process exits on its own; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _process?.Dispose();
        _process = null;
        _channel?.Dispose();
        _channel = null;
    }

    /// <summary>A loopback port nobody listens on right now, never the same one twice in this process.</summary>
    public static int FreePort()
    {
        // Below Linux's ephemeral range (32768..60999), so no outgoing connection of another process takes the port
        // between this check and the agent's bind.
        while (true)
        {
            var port = Random.Shared.Next(20000, 32000);
            lock (_handedOut)
            {
                if (_handedOut.Contains(port))
                {
                    continue;
                }
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
            }
            catch (SocketException)
            {
                continue;
            }

            lock (_handedOut)
            {
                if (_handedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
