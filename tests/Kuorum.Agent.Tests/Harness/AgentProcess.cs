using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Net.Client;
using Kuorum.Api.V1;

namespace Kuorum.Agent.Tests.Harness;

/// <summary>
/// One real agent process (the built <c>kuorum-agent.dll</c> run by <c>dotnet</c>) on loopback ports of its own, with
/// its output kept for the test's diagnostics. Killed with SIGKILL or stopped with SIGTERM by its PID, restarted on
/// the same data directory and ports.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly System.Threading.Lock _lock = new();
    private static readonly HashSet<int> _handedOut = [];
    private Process? _process;
    private GrpcChannel? _channel;

    /// <summary>Describes agent <paramref name="id"/>; call <see cref="Start"/> to run it.</summary>
    public AgentProcess(long id, string dataDirectory, IReadOnlyList<string> extraArgs)
    {
        Id = id;
        DataDirectory = dataDirectory;
        ExtraArgs = extraArgs;
        PeerPort = FreePort();
        ApiPort = FreePort();
        AdminPort = FreePort();
    }

    /// <summary>Node id.</summary>
    public long Id { get; }

    /// <summary>Data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>More arguments for every start.</summary>
    public IReadOnlyList<string> ExtraArgs { get; set; }

    /// <summary>Peer port.</summary>
    public int PeerPort { get; }

    /// <summary>Application API port.</summary>
    public int ApiPort { get; }

    /// <summary>Admin HTTP port.</summary>
    public int AdminPort { get; }

    /// <summary>host:port of the peer port.</summary>
    public string PeerAddress => $"127.0.0.1:{PeerPort}";

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The process's exit code once it exited.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    /// <summary>Everything the process printed so far.</summary>
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

    /// <summary>A channel to the application API.</summary>
    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress($"http://127.0.0.1:{ApiPort}");

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

    /// <summary>The path of the built agent, beside this test's build of the same configuration.</summary>
    public static string AgentDll
    {
        get
        {
            var here = AppContext.BaseDirectory; // tests/Kuorum.Agent.Tests/bin/<Configuration>/net10.0/
            var configuration = new DirectoryInfo(here.TrimEnd('/')).Parent!.Name;
            var root = here;
            while (!File.Exists(Path.Combine(root, "Operator.sln")))
            {
                root = Path.GetDirectoryName(root.TrimEnd('/'))!;
            }

            var dll = Path.Combine(root, "src", "Kuorum.Agent", "bin", configuration, "net10.0", "kuorum-agent.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"the agent is not built for {configuration}: build src/Kuorum.Agent first", dll);
        }
    }

    /// <summary>Starts the process with the given peer list (and more arguments).</summary>
    public void Start(string peers, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(AgentDll);
        foreach (var arg in new[]
        {
            "--node-id", Id.ToString(CultureInfo.InvariantCulture), "--data-dir", DataDirectory, "--bind-address", "127.0.0.1",
            "--peer-port", PeerPort.ToString(CultureInfo.InvariantCulture), "--api-port", ApiPort.ToString(CultureInfo.InvariantCulture),
            "--admin-port", AdminPort.ToString(CultureInfo.InvariantCulture),
        }.Concat(peers.Length > 0 ? ["--peers", peers] : []).Concat(ExtraArgs).Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["DOTNET_TieredPGO"] = "0";
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
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>SIGKILL: the process stops at once, mid-write if it was writing.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: false);
            await p.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, then waits for the exit (SIGKILL after <paramref name="timeout"/>).</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process is not { HasExited: false } p)
        {
            return;
        }

        _ = Posix.Kill(p.Id, Posix.Sigterm);
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    /// <summary>Waits until the process exits on its own.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(wait.Token);
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _channel?.Dispose();
        _channel = null;
    }

    private static int FreePort()
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
}

/// <summary>The signal calls the tests need.</summary>
internal static class Posix
{
    public const int Sigterm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);
}
