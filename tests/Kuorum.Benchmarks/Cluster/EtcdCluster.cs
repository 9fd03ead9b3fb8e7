using System.Diagnostics;
using System.Text;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Demo;

namespace Kuorum.Benchmarks.Cluster;

/// <summary>
/// Three etcd members (Debian's <c>etcd-server</c>, 3.4) on loopback ports of their own, data directories under one
/// temporary root on the same disk as Kuorum's, started by hand (there is no systemd) and killed by their PIDs only.
/// etcd fsyncs its WAL before acknowledging (its default, never turned off here). Clients use etcd's own gRPC API
/// (the generated <c>Etcdserverpb</c> clients that ship in dotnet-etcd) on the same kind of channel as Kuorum's.
/// </summary>
public sealed class EtcdCluster(int heartbeatMilliseconds = 100, int electionMilliseconds = 1000, string system = "etcd") : IClusterUnderTest
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "kuorum-bench-etcd", Guid.NewGuid().ToString("N"));
    private readonly List<Member> _members = [];
    private string _version = "?";

    public string System => system;

    public string Description =>
        $"etcd {_version}: 3 members, heartbeat {heartbeatMilliseconds} ms, election timeout {electionMilliseconds} ms "
        + $"(randomized {electionMilliseconds}-{2 * electionMilliseconds} ms){(heartbeatMilliseconds == 100 && electionMilliseconds == 1000 ? " (etcd's defaults)" : "")}, "
        + "pre-vote off (3.4 default); WAL fsynced before every acknowledgement";

    public int Members => _members.Count;

    /// <summary>The etcd binary: ETCD_BIN, else <c>etcd</c> on the PATH.</summary>
    public static string? Binary
    {
        get
        {
            if (Environment.GetEnvironmentVariable("ETCD_BIN") is { Length: > 0 } configured)
            {
                return File.Exists(configured) ? configured : null;
            }

            return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(d => Path.Combine(d, "etcd")).FirstOrDefault(File.Exists);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var binary = Binary ?? throw new InvalidOperationException("etcd is not installed (no etcd on the PATH): run 'make bench-tools' (Debian etcd-server)");
        _version = await VersionAsync(binary).ConfigureAwait(false);
        for (var i = 0; i < 3; i++)
        {
            _members.Add(new Member(i, $"m{i + 1}", Path.Combine(_root, $"m{i + 1}"), LocalAgent.FreePort(), LocalAgent.FreePort()));
        }

        var cluster = string.Join(",", _members.Select(m => $"{m.Name}=http://127.0.0.1:{m.PeerPort}"));
        var token = "kuorum-bench-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var member in _members)
        {
            member.Arguments =
            [
                "--name", member.Name, "--data-dir", member.DataDirectory,
                "--listen-client-urls", $"http://127.0.0.1:{member.ClientPort}", "--advertise-client-urls", $"http://127.0.0.1:{member.ClientPort}",
                "--listen-peer-urls", $"http://127.0.0.1:{member.PeerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{member.PeerPort}",
                "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", token,
                "--heartbeat-interval", heartbeatMilliseconds.ToString(), "--election-timeout", electionMilliseconds.ToString(),
                "--logger", "zap", "--log-level", "warn",
            ];
            member.Start(binary);
        }

        await LeaderAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
    }

    public IKvClient Client(int member) => _members[member].Client ??= new KvClient(Channels.Open($"127.0.0.1:{_members[member].ClientPort}"));

    public async Task<int> LeaderAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_members.FirstOrDefault(m => m.Exited) is { } exited)
            {
                throw new InvalidOperationException($"etcd {exited.Name} exited with code {exited.Process!.ExitCode}:\n{Dump()}");
            }

            var views = new List<(ulong Member, ulong Leader, ulong Term)>();
            foreach (var member in _members.Where(m => m.IsRunning))
            {
                try
                {
                    var status = await ((KvClient)Client(member.Index)).Maintenance.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: cancellationToken).ConfigureAwait(false);
                    views.Add((status.Header.MemberId, status.Leader, status.RaftTerm));
                }
                catch (RpcException)
                {
                    views.Clear();
                    break;
                }
            }

            if (views.Count > 0 && views.All(v => v.Leader != 0 && v.Leader == views[0].Leader && v.Term == views[0].Term))
            {
                // Member ids are etcd's hashes; the member whose own id is the leader's is the leader.
                var leader = _members.Where(m => m.IsRunning).Zip(views).FirstOrDefault(p => p.Second.Member == p.Second.Leader);
                if (leader.First is { } found)
                {
                    return found.Index;
                }
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"etcd: no agreed leader within {timeout.TotalSeconds:F0} s:\n{Dump()}");
    }

    public async Task KillAsync(int member)
    {
        await _members[member].KillAsync().ConfigureAwait(false);
    }

    public Task RestartAsync(int member, CancellationToken cancellationToken)
    {
        // On a data directory that holds a member, etcd ignores the --initial-cluster* flags and rejoins from its WAL.
        _members[member].Start(Binary!);
        return Task.CompletedTask;
    }

    public string Dump() => string.Join("\n", _members.Select(m => $"--- etcd {m.Name} (running: {m.IsRunning}) ---\n{m.Tail()}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
        {
            await member.KillAsync().ConfigureAwait(false);
        }

        try
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary directory.
        }
    }

    private static async Task<string> VersionAsync(string binary)
    {
        var start = new ProcessStartInfo(binary, "--version") { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var text = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        return text.Split('\n').FirstOrDefault(l => l.StartsWith("etcd Version:", StringComparison.Ordinal))?["etcd Version:".Length..].Trim() ?? "?";
    }

    private sealed class Member(int index, string name, string dataDirectory, int clientPort, int peerPort)
    {
        private readonly StringBuilder _output = new();
        private readonly Lock _lock = new();

        public int Index => index;

        public string Name => name;

        public string DataDirectory => dataDirectory;

        public int ClientPort => clientPort;

        public int PeerPort => peerPort;

        public string[] Arguments { get; set; } = [];

        public Process? Process { get; private set; }

        public KvClient? Client { get; set; }

        public bool IsRunning => Process is { HasExited: false };

        public bool Exited => Process is { HasExited: true } && !_killed;

        private bool _killed;

        public void Start(string binary)
        {
            var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in Arguments)
            {
                start.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            Process = process;
            _killed = false;
        }

        // SIGKILL of this member's own PID (never by name), then a fresh channel for whoever talks to it next.
        public async Task KillAsync()
        {
            _killed = true;
            if (Process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: false);
                await process.WaitForExitAsync().ConfigureAwait(false);
            }

            Client?.Channel.Dispose();
            Client = null;
        }

        public string Tail()
        {
            lock (_lock)
            {
                return string.Join("\n", _output.ToString().Split('\n').TakeLast(30));
            }
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                // Keep the output bounded: warnings only, but a long run can still print many.
                if (_output.Length > 1 << 20)
                {
                    _output.Remove(0, _output.Length / 2);
                }

                _output.AppendLine(line);
            }
        }
    }

    private sealed class KvClient(GrpcChannel channel) : IKvClient
    {
        private readonly KV.KVClient _kv = new(channel);

        public GrpcChannel Channel => channel;

        public Maintenance.MaintenanceClient Maintenance { get; } = new(channel);

        public async Task PutAsync(ByteString key, ByteString value, DateTime deadline, CancellationToken cancellationToken) =>
            await _kv.PutAsync(new PutRequest { Key = key, Value = value }, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);

        // serializable = false (the default): a linearizable read, ReadIndex through the leader.
        public async Task<bool> GetAsync(ByteString key, DateTime deadline, CancellationToken cancellationToken) =>
            (await _kv.RangeAsync(new RangeRequest { Key = key }, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false)).Count > 0;
    }
}
