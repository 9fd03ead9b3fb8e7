using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>
/// An EMULATION of pod networking and cluster DNS for the end-to-end tests (needs root and iproute2's <c>ip</c>).
/// Each pod gets a Linux network namespace of its own with one address on a private /24, joined by veth pairs to a
/// bridge that lives in a namespace of its own; the test process (the "node", where the operator and the kubelet
/// emulation's probes run) joins the same bridge with the subnet's .1 address. DNS is emulated by a hosts file per
/// pod, <c>/etc/netns/&lt;namespace&gt;/hosts</c> (which <c>ip netns exec</c> shows to the process as
/// <c>/etc/hosts</c>), listing every pod's StatefulSet name (<c>&lt;pod&gt;.&lt;service&gt;.&lt;ns&gt;.svc.cluster.local</c>),
/// rewritten in place whenever a pod comes or goes; any other name fails at once (the resolver points at 127.0.0.1).
/// <para>
/// Everything is named after a run id (namespaces <c>kqe-&lt;run&gt;-…</c>, links <c>kqe&lt;run&gt;…</c>) and recorded in a
/// state directory with the owning process id and the agent PIDs, so a later run removes what a crashed run left
/// behind. <see cref="DisposeAsync"/> removes the namespaces, the node's link and the hosts files.
/// </para>
/// </summary>
public sealed partial class PodNetworkEmulation : IAsyncDisposable
{
    private const string Prefix = "kqe";
    private static readonly string StateRoot = Path.Combine(Path.GetTempPath(), "kuorum-e2e");
    private readonly Lock _lock = new();
    private readonly Dictionary<int, PodSandbox> _sandboxes = [];
    private readonly Action<string> _log;
    private bool _disposed;

    private PodNetworkEmulation(string runId, int subnet, string stateDirectory, Action<string> log)
    {
        RunId = runId;
        Subnet = subnet;
        StateDirectory = stateDirectory;
        _log = log;
        NodeAddress = IPAddress.Parse($"10.213.{subnet}.1");
    }

    /// <summary>Four hex digits naming everything this run creates.</summary>
    public string RunId { get; }

    /// <summary>The third octet of 10.213.X.0/24.</summary>
    public int Subnet { get; }

    /// <summary>The node's (test process's) address on the pod network: the operator and the probes come from here.</summary>
    public IPAddress NodeAddress { get; }

    /// <summary>Where this run keeps its state (owner PID, agent PIDs) and the pods' directories.</summary>
    public string StateDirectory { get; }

    private string BridgeNamespace => $"{Prefix}-{RunId}-br";

    private string NodeLink => $"{Prefix}{RunId}h";

    /// <summary>True when this process can build the emulation: root and <c>ip</c> on the PATH.</summary>
    public static string? WhyUnavailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "needs Linux network namespaces";
        }

        if (GetEffectiveUserId() != 0)
        {
            return "needs root (ip netns, veth, bridge)";
        }

        return FindTool("ip") is null ? "needs iproute2's ip (apt-get install iproute2)" : null;
    }

    /// <summary>Creates the bridge namespace and the node's link, after removing what crashed earlier runs left.</summary>
    public static async Task<PodNetworkEmulation> CreateAsync(Action<string> log)
    {
        if (WhyUnavailable() is { } why)
        {
            throw new InvalidOperationException("the pod network emulation " + why);
        }

        await SweepStaleRunsAsync(log);
        var used = (await RunAsync(["-4", "-o", "addr", "show"], check: false)) + (await RunAsync(["-4", "route", "show"], check: false));
        for (var attempt = 0; ; attempt++)
        {
            var runId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
            var subnet = Random.Shared.Next(1, 255);
            if (used.Contains($"10.213.{subnet}.", StringComparison.Ordinal) || Directory.Exists(Path.Combine(StateRoot, runId)))
            {
                if (attempt > 20)
                {
                    throw new InvalidOperationException("no free 10.213.X.0/24 subnet for the pod network emulation");
                }

                continue;
            }

            var state = Path.Combine(StateRoot, runId);
            Directory.CreateDirectory(Path.Combine(state, "pids"));
            await File.WriteAllTextAsync(Path.Combine(state, "owner"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            var network = new PodNetworkEmulation(runId, subnet, state, log);
            try
            {
                await network.CreateBridgeAsync();
            }
            catch
            {
                await network.DisposeAsync();
                throw;
            }

            return network;
        }
    }

    /// <summary>Gives a pod its network namespace and address, and publishes its DNS names to every pod.</summary>
    public async Task<PodSandbox> AddPodAsync(string podNamespace, string podName, string? hostname, string? subdomain)
    {
        PodSandbox sandbox;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var index = Enumerable.Range(10, 240).First(i => !_sandboxes.ContainsKey(i));
            var names = new List<string>();
            var host = string.IsNullOrEmpty(hostname) ? podName : hostname;
            if (!string.IsNullOrEmpty(subdomain))
            {
                var fqdn = $"{host}.{subdomain}.{podNamespace}.svc.cluster.local";
                names.AddRange([fqdn, $"{host}.{subdomain}.{podNamespace}.svc", $"{host}.{subdomain}.{podNamespace}", $"{host}.{subdomain}"]);
            }

            sandbox = new PodSandbox(podNamespace, podName, host, $"{Prefix}-{RunId}-{index}", IPAddress.Parse($"10.213.{Subnet}.{index}"), index, names);
            _sandboxes[index] = sandbox;
        }

        try
        {
            var pod = sandbox.NetworkNamespace;
            var podLink = $"{Prefix}{RunId}c{sandbox.Index}";
            var bridgeLink = $"{Prefix}{RunId}b{sandbox.Index}";
            Directory.CreateDirectory(HostsDirectory(pod));
            await File.WriteAllTextAsync(Path.Combine(HostsDirectory(pod), "resolv.conf"), "# kuorum pod network emulation: names come from /etc/hosts only\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
            await RunAsync(["netns", "add", pod]);
            await RunAsync(["link", "add", podLink, "type", "veth", "peer", "name", bridgeLink]);
            await RunAsync(["link", "set", podLink, "netns", pod]);
            await RunAsync(["link", "set", bridgeLink, "netns", BridgeNamespace]);
            await RunAsync(["-n", pod, "link", "set", podLink, "name", "eth0"]);
            await RunAsync(["-n", pod, "addr", "add", $"{sandbox.Address}/24", "dev", "eth0"]);
            await RunAsync(["-n", pod, "link", "set", "lo", "up"]);
            await RunAsync(["-n", pod, "link", "set", "eth0", "up"]);
            await RunAsync(["-n", BridgeNamespace, "link", "set", bridgeLink, "master", "br0"]);
            await RunAsync(["-n", BridgeNamespace, "link", "set", bridgeLink, "up"]);
            WriteHostsFiles();
            _log($"pod network: {podNamespace}/{podName} in netns {pod} at {sandbox.Address}");
            return sandbox;
        }
        catch
        {
            await RemovePodAsync(sandbox);
            throw;
        }
    }

    /// <summary>Removes a pod's names from every hosts file, then its namespace (its veth pair goes with it).</summary>
    public async Task RemovePodAsync(PodSandbox sandbox)
    {
        lock (_lock)
        {
            _sandboxes.Remove(sandbox.Index);
        }

        WriteHostsFiles();
        await RunAsync(["netns", "delete", sandbox.NetworkNamespace], check: false);
        TryDeleteDirectory(HostsDirectory(sandbox.NetworkNamespace));
    }

    /// <summary>Records an agent PID, so a later run can kill it if this one crashes.</summary>
    public void RecordPid(int pid) =>
        File.WriteAllText(Path.Combine(StateDirectory, "pids", pid.ToString(CultureInfo.InvariantCulture)), "");

    /// <summary>Forgets an agent PID once it exited.</summary>
    public void ForgetPid(int pid) =>
        File.Delete(Path.Combine(StateDirectory, "pids", pid.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The command line that runs <paramref name="command"/> inside the pod's network namespace (<c>ip netns exec</c> execs it: same PID).</summary>
    public static IReadOnlyList<string> ExecIn(PodSandbox sandbox, IEnumerable<string> command) =>
        [FindTool("ip")!, "netns", "exec", sandbox.NetworkNamespace, .. command];

    public async ValueTask DisposeAsync()
    {
        List<PodSandbox> left;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            left = [.. _sandboxes.Values];
            _sandboxes.Clear();
        }

        foreach (var sandbox in left)
        {
            await RunAsync(["netns", "delete", sandbox.NetworkNamespace], check: false);
            TryDeleteDirectory(HostsDirectory(sandbox.NetworkNamespace));
        }

        await RemoveRunAsync(RunId, _log);
    }

    private async Task CreateBridgeAsync()
    {
        await RunAsync(["netns", "add", BridgeNamespace]);
        await RunAsync(["-n", BridgeNamespace, "link", "set", "lo", "up"]);
        await RunAsync(["-n", BridgeNamespace, "link", "add", "br0", "type", "bridge"]);
        await RunAsync(["-n", BridgeNamespace, "link", "set", "br0", "up"]);
        var bridgeSide = $"{Prefix}{RunId}n";
        await RunAsync(["link", "add", NodeLink, "type", "veth", "peer", "name", bridgeSide]);
        await RunAsync(["link", "set", bridgeSide, "netns", BridgeNamespace]);
        await RunAsync(["-n", BridgeNamespace, "link", "set", bridgeSide, "master", "br0"]);
        await RunAsync(["-n", BridgeNamespace, "link", "set", bridgeSide, "up"]);
        await RunAsync(["addr", "add", $"{NodeAddress}/24", "dev", NodeLink]);
        await RunAsync(["link", "set", NodeLink, "up"]);
        _log($"pod network: run {RunId}, bridge in netns {BridgeNamespace}, node at {NodeAddress}/24 on {NodeLink}");
    }

    /// <summary>Rewrites every pod's hosts file in place (a bind mount shows the same file to a running process).</summary>
    private void WriteHostsFiles()
    {
        List<PodSandbox> pods;
        lock (_lock)
        {
            pods = [.. _sandboxes.Values.OrderBy(s => s.Index)];
        }

        var shared = new StringBuilder();
        foreach (var pod in pods.Where(p => p.DnsNames.Count > 0))
        {
            shared.Append(CultureInfo.InvariantCulture, $"{pod.Address}\t{string.Join(' ', pod.DnsNames)}\n");
        }

        foreach (var pod in pods)
        {
            var text = "# kuorum pod network emulation: the StatefulSet pods' DNS names\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                       + $"{pod.Address}\t{pod.Hostname}\n" + shared;
            var file = Path.Combine(HostsDirectory(pod.NetworkNamespace), "hosts");
            try
            {
                using var stream = new FileStream(file, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
                var bytes = Encoding.ASCII.GetBytes(text);
                stream.Write(bytes);
                stream.SetLength(bytes.Length);
            }
            catch (IOException)
            {
                // The pod is going away.
            }
        }
    }

    private static string HostsDirectory(string netns) => Path.Combine("/etc/netns", netns);

    /// <summary>Kills the agents, removes the namespaces, links and hosts files of runs whose owning process is gone.</summary>
    private static async Task SweepStaleRunsAsync(Action<string> log)
    {
        if (!Directory.Exists(StateRoot))
        {
            return;
        }

        foreach (var dir in Directory.GetDirectories(StateRoot))
        {
            var owner = Path.Combine(dir, "owner");
            if (File.Exists(owner) && int.TryParse(File.ReadAllText(owner), out var pid) && Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }

            var runId = Path.GetFileName(dir);
            log($"pod network: removing what run {runId} left behind");
            await RemoveRunAsync(runId, log);
        }
    }

    private static async Task RemoveRunAsync(string runId, Action<string> log)
    {
        var state = Path.Combine(StateRoot, runId);
        var pids = Path.Combine(state, "pids");
        if (Directory.Exists(pids))
        {
            foreach (var file in Directory.GetFiles(pids))
            {
                if (int.TryParse(Path.GetFileName(file), out var pid) && IsAgent(pid))
                {
                    try
                    {
                        using var process = Process.GetProcessById(pid);
                        process.Kill();
                        log($"pod network: killed agent PID {pid} left by run {runId}");
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                    {
                    }
                }
            }
        }

        var namespaces = await RunAsync(["netns", "list"], check: false);
        foreach (var line in namespaces.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (name.StartsWith($"{Prefix}-{runId}-", StringComparison.Ordinal))
            {
                await RunAsync(["netns", "delete", name], check: false);
                TryDeleteDirectory(HostsDirectory(name));
            }
        }

        foreach (var dir in Directory.Exists("/etc/netns") ? Directory.GetDirectories("/etc/netns", $"{Prefix}-{runId}-*") : [])
        {
            TryDeleteDirectory(dir);
        }

        await RunAsync(["link", "delete", $"{Prefix}{runId}h"], check: false);
        TryDeleteDirectory(state);
    }

    private static bool IsAgent(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains("kuorum-agent", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void TryDeleteDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':').Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    private static async Task<string> RunAsync(IReadOnlyList<string> args, bool check = true)
    {
        var start = new ProcessStartInfo(FindTool("ip") ?? "ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({process.ExitCode}): {(await error).Trim()}");
        }

        return await output;
    }
}

/// <summary>A pod's place on the emulated pod network.</summary>
/// <param name="PodNamespace">The pod's Kubernetes namespace.</param>
/// <param name="PodName">The pod's name.</param>
/// <param name="Hostname">The pod's hostname.</param>
/// <param name="NetworkNamespace">The Linux network namespace its processes run in.</param>
/// <param name="Address">The pod IP.</param>
/// <param name="Index">The last octet of the address.</param>
/// <param name="DnsNames">The names other pods resolve to it.</param>
public sealed record PodSandbox(string PodNamespace, string PodName, string Hostname, string NetworkNamespace, IPAddress Address, int Index, IReadOnlyList<string> DnsNames);
