using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>Settings of the <see cref="AgentKubeletEmulation"/>.</summary>
public sealed record AgentKubeletSettings
{
    /// <summary>The built agent (<c>kuorum-agent.dll</c>) run for the agent container, whatever its image says.</summary>
    public string AgentDll { get; init; } = AgentKubeletEmulation.FindAgentDll();

    /// <summary>The container the emulation runs as a real process; every other container is reported running without being run.</summary>
    public string AgentContainer { get; init; } = "kuorum-agent";

    /// <summary>How often readiness is probed (the pod's own probe periods are 1–2 s; shorter here to keep tests fast).</summary>
    public TimeSpan ProbePeriod { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The first restart delay after the container exits (the kubelet's CrashLoopBackOff starts at 10 s); doubles to 5 min.</summary>
    public TimeSpan RestartBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between SIGTERM and SIGKILL when a pod is deleted (the pod's terminationGracePeriodSeconds, capped).</summary>
    public TimeSpan MaxGracePeriod { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// A kubelet EMULATION that runs the agent container of each pod as a real agent process. For a pod the StatefulSet
/// controller emulation creates, it: gives the pod a network namespace and address on the <see cref="PodNetworkEmulation"/>
/// (with the StatefulSet's DNS names in hosts files); builds the agent container's environment as a kubelet would
/// (<see cref="ContainerEnvironment"/>: envFrom of the ConfigMap, fieldRefs), plus what a kubelet injects
/// (<c>KUBERNETES_SERVICE_HOST/PORT</c>, <c>HOSTNAME</c>); emulates volume mounts by giving each volume a directory of
/// the pod's own and rewriting environment values under a mount path to it (no mount namespace: the agent sees
/// host paths), with secret volumes filled from their Secrets and kept in step with them (<see cref="SecretVolumeEmulation"/>); emulates the service-account token volume with a token file and the API server's address through the
/// agent's emulation hooks (<c>KUORUM_KUBE_API_URL</c>, the emulation serves plain HTTP; <c>KUORUM_KUBE_TOKEN_FILE</c>);
/// runs <c>ip netns exec &lt;pod netns&gt; dotnet kuorum-agent.dll</c> (same PID as the agent); probes readiness on the
/// pod IP from the node (the container's readinessProbe path and port, every <see cref="AgentKubeletSettings.ProbePeriod"/>)
/// and writes the pod status (phase, podIP, hostIP, Ready and ContainersReady conditions, container statuses with
/// restart counts); restarts an exited agent with CrashLoopBackOff delays (restartPolicy Always of a native sidecar);
/// and on pod deletion sends SIGTERM, then SIGKILL after the grace period, and removes the namespace and directories.
/// Not emulated: the application containers (reported running, started once the agent's startup probe would pass,
/// never run), liveness probes, resource limits, securityContext (the agent runs as the test's user), image pulls.
/// </summary>
public sealed partial class AgentKubeletEmulation : IKubeletEmulation, IAsyncDisposable
{
    private readonly EmulatedStore _store;
    private readonly PodNetworkEmulation _network;
    private readonly Uri _apiUrl;
    private readonly Action<string> _log;
    private readonly AgentKubeletSettings _settings;
    private readonly ConcurrentDictionary<string, EmulatedPod> _pods = new();
    private readonly ConcurrentBag<Task> _background = [];
    private readonly HttpClient _probe = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(1),
    };

    private int _disposed;

    /// <param name="store">The API server emulation's store (pod status is written to it).</param>
    /// <param name="network">Where pods get their namespaces and addresses.</param>
    /// <param name="apiUrlForPods">The API server emulation's URL on the node's pod-network address.</param>
    /// <param name="log">Diagnostics.</param>
    /// <param name="settings">Timing and what to run.</param>
    public AgentKubeletEmulation(EmulatedStore store, PodNetworkEmulation network, Uri apiUrlForPods, Action<string> log, AgentKubeletSettings? settings = null)
    {
        _store = store;
        _network = network;
        _apiUrl = apiUrlForPods;
        _log = log;
        _settings = settings ?? new AgentKubeletSettings();
        if (!File.Exists(_settings.AgentDll))
        {
            throw new FileNotFoundException("the agent is not built", _settings.AgentDll);
        }
    }

    /// <summary>The pods this kubelet runs now.</summary>
    public IReadOnlyCollection<EmulatedPod> Pods => [.. _pods.Values];

    /// <summary>The pod running under that name, if any.</summary>
    public EmulatedPod? Find(string ns, string name) => _pods.GetValueOrDefault(Key(ns, name));

    /// <summary>Every pod's agent output (the last lines), for a failing test's message.</summary>
    public string Diagnostics() =>
        string.Join("\n", _pods.Values.OrderBy(p => p.Name).Select(p => $"===== {p.Namespace}/{p.Name} pid {p.Pid} at {p.Sandbox?.Address} restarts {p.RestartCount}\n{p.Output}"));

    public JsonObject? Started(JsonObject pod)
    {
        var meta = pod["metadata"]!;
        var emulated = new EmulatedPod(
            meta["namespace"]!.GetValue<string>(),
            meta["name"]!.GetValue<string>(),
            meta["uid"]?.GetValue<string>() ?? Guid.NewGuid().ToString(),
            Path.Combine(_network.StateDirectory, "pods", $"{meta["name"]!.GetValue<string>()}-{Guid.NewGuid().ToString("N")[..6]}"));
        if (Volatile.Read(ref _disposed) != 0)
        {
            return null;
        }

        _pods[Key(emulated.Namespace, emulated.Name)] = emulated;
        var copy = pod.DeepClone().AsObject();
        emulated.Run = Task.Run(() => RunPodAsync(emulated, copy));
        return null; // Pending until the sandbox exists and the agent runs.
    }

    public void Stopped(JsonObject pod)
    {
        var meta = pod["metadata"]!;
        var key = Key(meta["namespace"]!.GetValue<string>(), meta["name"]!.GetValue<string>());
        if (_pods.TryGetValue(key, out var emulated) && emulated.Uid == meta["uid"]?.GetValue<string>() && _pods.TryRemove(KeyValuePair.Create(key, emulated)))
        {
            var grace = pod["spec"]?["terminationGracePeriodSeconds"]?.GetValue<long>() is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(30);
            _background.Add(Task.Run(() => StopPodAsync(emulated, grace < _settings.MaxGracePeriod ? grace : _settings.MaxGracePeriod)));
        }
    }

    /// <summary>SIGKILL to the pod's agent process, by its PID; returns the PID. The kubelet emulation restarts it after its back-off.</summary>
    public int KillAgent(string ns, string name)
    {
        var pod = Find(ns, name) ?? throw new InvalidOperationException($"no pod {ns}/{name}");
        lock (pod.Gate)
        {
            var process = pod.Process is { HasExited: false } p ? p : throw new InvalidOperationException($"{ns}/{name} runs no agent");
            var pid = process.Id;
            process.Kill(entireProcessTree: false); // kill(pid, SIGKILL)
            pod.Append($"[kubelet emulation] SIGKILL sent to PID {pid}");
            return pid;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var key in _pods.Keys)
        {
            if (_pods.TryRemove(key, out var pod))
            {
                _background.Add(StopPodAsync(pod, TimeSpan.FromSeconds(2)));
            }
        }

        await Task.WhenAll(_background);
        _probe.Dispose();
    }

    /// <summary>
    /// The built agent of this test assembly's configuration, src/Kuorum.Agent/bin/&lt;Configuration&gt;/net10.0/kuorum-agent.dll,
    /// or the KUORUM_AGENT_DLL variable when set (as for the demo's launcher).
    /// </summary>
    public static string FindAgentDll()
    {
        if (System.Environment.GetEnvironmentVariable("KUORUM_AGENT_DLL") is { Length: > 0 } configured)
        {
            return configured;
        }

        var here = AppContext.BaseDirectory.TrimEnd('/'); // tests/Kuorum.Operator.Tests/bin/<Configuration>/net10.0
        var configuration = new DirectoryInfo(here).Parent!.Name;
        var root = here;
        while (!File.Exists(Path.Combine(root, "Operator.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new FileNotFoundException("Operator.sln not found above " + here);
        }

        return Path.Combine(root, "src", "Kuorum.Agent", "bin", configuration, "net10.0", "kuorum-agent.dll");
    }

    private static string Key(string ns, string name) => ns + "/" + name;

    private async Task RunPodAsync(EmulatedPod pod, JsonObject podObject)
    {
        var ct = pod.Stopping.Token;
        try
        {
            var spec = podObject["spec"] as JsonObject ?? [];
            pod.Sandbox = await _network.AddPodAsync(pod.Namespace, pod.Name, spec["hostname"]?.GetValue<string>(), spec["subdomain"]?.GetValue<string>());
            pod.StartTime = DateTime.UtcNow;
            podObject = _store.Get(EmulatedResources.Pods, pod.Namespace, pod.Name) ?? podObject;
            podObject["status"] = new JsonObject { ["podIP"] = pod.Sandbox.Address.ToString(), ["hostIP"] = _network.NodeAddress.ToString() };
            var agent = (spec["initContainers"]?.AsArray() ?? []).Concat(spec["containers"]?.AsArray() ?? [])
                .OfType<JsonObject>()
                .FirstOrDefault(c => c["name"]?.GetValue<string>() == _settings.AgentContainer)
                ?? throw new InvalidOperationException($"pod {pod.Name} has no container {_settings.AgentContainer}");
            var (probePath, probePort) = ReadinessProbe(agent);
            var backoff = _settings.RestartBackoff;
            Directory.CreateDirectory(pod.Directory);

            while (!ct.IsCancellationRequested)
            {
                Dictionary<string, string> env;
                try
                {
                    env = Environment(pod, podObject, spec, agent);
                }
                catch (ContainerConfigException e)
                {
                    pod.Waiting = ("CreateContainerConfigError", e.Message);
                    WriteStatus(pod, podObject);
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    continue;
                }

                var process = Launch(pod, env, agent);
                if (process is null)
                {
                    break;
                }

                var runningSince = DateTime.UtcNow;
                pod.Waiting = null;
                WriteStatus(pod, podObject);
                var exited = process.WaitForExitAsync(CancellationToken.None);
                while (!exited.IsCompleted && !ct.IsCancellationRequested)
                {
                    ResyncSecretVolumes(pod);
                    var ready = await ProbeAsync(pod.Sandbox.Address.ToString(), probePort, probePath);
                    if (ready != pod.Ready)
                    {
                        pod.Ready = ready;
                        pod.EverReady |= ready;
                        WriteStatus(pod, podObject);
                    }

                    await Task.WhenAny(exited, Task.Delay(_settings.ProbePeriod, ct));
                }

                if (ct.IsCancellationRequested)
                {
                    break;
                }

                _network.ForgetPid(process.Id);
                pod.Ready = false;
                pod.RestartCount++;
                pod.LastExit = (process.ExitCode, DateTime.UtcNow);
                if (DateTime.UtcNow - runningSince > TimeSpan.FromMinutes(10))
                {
                    backoff = _settings.RestartBackoff;
                }

                pod.Waiting = ("CrashLoopBackOff", $"back-off {backoff.TotalSeconds:0.#}s restarting failed container={_settings.AgentContainer} pod={pod.Name}");
                pod.Append($"[kubelet emulation] agent PID {process.Id} exited with {process.ExitCode}; restarting in {backoff.TotalSeconds:0.#} s");
                WriteStatus(pod, podObject);
                await Task.Delay(backoff, ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            pod.Append("[kubelet emulation] failed: " + e);
            _log($"kubelet emulation: pod {pod.Namespace}/{pod.Name} failed: {e.Message}");
        }
    }

    private Process? Launch(EmulatedPod pod, Dictionary<string, string> env, JsonObject container)
    {
        var dotnet = System.Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? self
            : PodNetworkEmulation.FindTool("dotnet") ?? "dotnet";
        var args = (container["args"]?.AsArray() ?? []).Select(a => ContainerEnvironment.Expand(a!.GetValue<string>(), env));
        var command = PodNetworkEmulation.ExecIn(pod.Sandbox!, [dotnet, _settings.AgentDll, .. args]);
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = pod.Directory,
        };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        // A container's environment is what the kubelet gives it, not the test's.
        start.Environment.Clear();
        start.Environment["PATH"] = System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        start.Environment["HOME"] = pod.Directory;
        start.Environment["TMPDIR"] = Directory.CreateDirectory(Path.Combine(pod.Directory, "tmp")).FullName;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (System.Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root)
        {
            start.Environment["DOTNET_ROOT"] = root;
        }

        foreach (var (name, value) in env)
        {
            start.Environment[name] = value;
        }

        lock (pod.Gate)
        {
            if (pod.Stopping.IsCancellationRequested)
            {
                return null;
            }

            var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => pod.Append(e.Data);
            process.ErrorDataReceived += (_, e) => pod.Append(e.Data);
            process.Start();
            _network.RecordPid(process.Id);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            pod.Process = process;
            pod.Append($"[kubelet emulation] started agent PID {process.Id} in netns {pod.Sandbox!.NetworkNamespace} at {pod.Sandbox.Address}");
            return process;
        }
    }

    /// <summary>The container's environment as the kubelet builds it, with the emulation's substitutions (volumes, service account, API server).</summary>
    private Dictionary<string, string> Environment(EmulatedPod pod, JsonObject podObject, JsonObject spec, JsonObject container)
    {
        var env = ContainerEnvironment.Resolve(_store, podObject, container);

        // Volume mounts: a directory per volume in the pod's directory; values under a mount path point into it.
        // Secret volumes get the Secret's files (a missing Secret or key keeps the container from starting).
        var mounts = new List<(string MountPath, string HostPath)>();
        var secretVolumes = new List<(string Name, JsonObject Source, string HostPath)>();
        foreach (var mount in container["volumeMounts"]?.AsArray() ?? [])
        {
            var name = mount!["name"]!.GetValue<string>();
            var host = Directory.CreateDirectory(Path.Combine(pod.Directory, "volumes", name)).FullName;
            mounts.Add((mount["mountPath"]!.GetValue<string>().TrimEnd('/'), host));
            var volume = (spec["volumes"]?.AsArray() ?? []).OfType<JsonObject>().FirstOrDefault(v => v["name"]?.GetValue<string>() == name);
            if (volume?["secret"] is JsonObject secret)
            {
                SecretVolumeEmulation.Sync(_store, pod.Namespace, name, secret, host);
                secretVolumes.Add((name, secret, host));
            }
        }

        pod.SecretVolumes = secretVolumes;

        foreach (var (name, value) in env.ToList())
        {
            foreach (var (mountPath, hostPath) in mounts.OrderByDescending(m => m.MountPath.Length))
            {
                if (value == mountPath || value.StartsWith(mountPath + "/", StringComparison.Ordinal))
                {
                    env[name] = hostPath + value[mountPath.Length..];
                    break;
                }
            }
        }

        // The service-account token volume and the kubernetes Service, as the kubelet provides them in every pod.
        var account = Directory.CreateDirectory(Path.Combine(pod.Directory, "serviceaccount")).FullName;
        var serviceAccount = spec["serviceAccountName"]?.GetValue<string>() ?? "default";
        File.WriteAllText(Path.Combine(account, "token"), $"emulated-token:{pod.Namespace}:{serviceAccount}:{pod.Name}");
        File.WriteAllText(Path.Combine(account, "namespace"), pod.Namespace);
        File.WriteAllText(Path.Combine(account, "ca.crt"), "");
        env["KUBERNETES_SERVICE_HOST"] = _apiUrl.Host;
        env["KUBERNETES_SERVICE_PORT"] = _apiUrl.Port.ToString(CultureInfo.InvariantCulture);
        env["HOSTNAME"] = pod.Sandbox!.Hostname;
        env["KUORUM_KUBE_API_URL"] = _apiUrl.ToString().TrimEnd('/');
        env["KUORUM_KUBE_TOKEN_FILE"] = Path.Combine(account, "token");
        env["KUORUM_KUBE_CA_FILE"] = Path.Combine(account, "ca.crt");
        pod.Environment = env;
        return env;
    }

    /// <summary>
    /// A running container's secret volumes follow their Secrets (the kubelet's periodic sync; here every probe
    /// period). A Secret that is gone leaves the files as they were, as on a kubelet.
    /// </summary>
    private void ResyncSecretVolumes(EmulatedPod pod)
    {
        foreach (var (name, source, host) in pod.SecretVolumes)
        {
            try
            {
                if (SecretVolumeEmulation.Sync(_store, pod.Namespace, name, source, host))
                {
                    pod.Append($"[kubelet emulation] secret volume {name} updated");
                }
            }
            catch (ContainerConfigException)
            {
            }
        }
    }

    private static (string Path, int Port) ReadinessProbe(JsonObject container)
    {
        var get = container["readinessProbe"]?["httpGet"] ?? container["startupProbe"]?["httpGet"];
        var path = get?["path"]?.GetValue<string>() ?? "/readyz";
        var port = get?["port"] switch
        {
            JsonValue v when v.TryGetValue<int>(out var number) => number,
            JsonValue v when v.TryGetValue<string>(out var text) && int.TryParse(text, out var parsed) => parsed,
            JsonValue v when v.TryGetValue<string>(out var named) => (container["ports"]?.AsArray() ?? [])
                .FirstOrDefault(p => p?["name"]?.GetValue<string>() == named)?["containerPort"]?.GetValue<int>() ?? 7402,
            _ => 7402,
        };
        return (path, port);
    }

    private async Task<bool> ProbeAsync(string ip, int port, string path)
    {
        try
        {
            using var response = await _probe.GetAsync($"http://{ip}:{port}{path}");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private void WriteStatus(EmulatedPod pod, JsonObject podObject)
    {
        JsonObject Condition(string type, bool status) => new() { ["type"] = type, ["status"] = status ? "True" : "False" };
        var running = pod.Process is { HasExited: false };
        var agentState = running && pod.Waiting is null
            ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = pod.StartTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) } }
            : new JsonObject { ["waiting"] = new JsonObject { ["reason"] = pod.Waiting?.Reason ?? "ContainerCreating", ["message"] = pod.Waiting?.Message ?? "" } };
        var agentStatus = new JsonObject
        {
            ["name"] = _settings.AgentContainer,
            ["ready"] = pod.Ready,
            ["started"] = running,
            ["restartCount"] = pod.RestartCount,
            ["state"] = agentState,
        };
        if (pod.LastExit is { } exit)
        {
            agentStatus["lastState"] = new JsonObject
            {
                ["terminated"] = new JsonObject { ["exitCode"] = exit.Code, ["reason"] = exit.Code == 0 ? "Completed" : "Error" },
            };
        }

        var spec = podObject["spec"];
        var appStatuses = new JsonArray();
        foreach (var container in spec?["containers"]?.AsArray() ?? [])
        {
            // Application containers are not run: reported running once the agent's startup probe would have passed.
            appStatuses.Add(new JsonObject
            {
                ["name"] = container!["name"]!.GetValue<string>(),
                ["image"] = container["image"]?.GetValue<string>(),
                ["ready"] = pod.EverReady,
                ["started"] = pod.EverReady,
                ["restartCount"] = 0,
                ["state"] = pod.EverReady
                    ? new JsonObject { ["running"] = new JsonObject() }
                    : new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "PodInitializing" } },
            });
        }

        var status = new JsonObject
        {
            ["phase"] = "Running",
            ["podIP"] = pod.Sandbox!.Address.ToString(),
            ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = pod.Sandbox.Address.ToString() }),
            ["hostIP"] = _network.NodeAddress.ToString(),
            ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = _network.NodeAddress.ToString() }),
            ["startTime"] = pod.StartTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["conditions"] = new JsonArray(
                Condition("PodScheduled", true),
                Condition("Initialized", pod.EverReady),
                Condition("ContainersReady", pod.Ready),
                Condition("Ready", pod.Ready)),
            ["initContainerStatuses"] = new JsonArray(agentStatus),
            ["containerStatuses"] = appStatuses,
        };
        var text = status.ToJsonString();
        if (text == pod.LastStatus)
        {
            return;
        }

        try
        {
            _store.Mutate(EmulatedResources.Pods, pod.Namespace, pod.Name, o =>
            {
                if (o["metadata"]?["uid"]?.GetValue<string>() != pod.Uid)
                {
                    throw new EmulationException(409, "Conflict", "another pod of that name");
                }

                o["status"] = status;
                return o;
            }, "status");
            pod.LastStatus = text;
        }
        catch (EmulationException)
        {
            // The pod is gone (or replaced).
        }
    }

    private async Task StopPodAsync(EmulatedPod pod, TimeSpan grace)
    {
        await pod.Stopping.CancelAsync();
        Process? process;
        lock (pod.Gate)
        {
            process = pod.Process;
        }

        if (process is { HasExited: false })
        {
            _ = SendSignal(process.Id, 15);
            pod.Append($"[kubelet emulation] SIGTERM sent to PID {process.Id}");
            using var wait = new CancellationTokenSource(grace);
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: false);
                await process.WaitForExitAsync();
            }
        }

        if (process is not null)
        {
            _network.ForgetPid(process.Id);
            process.Dispose();
        }

        if (pod.Run is { } run)
        {
            await run;
        }

        if (pod.Sandbox is { } sandbox)
        {
            await _network.RemovePodAsync(sandbox);
        }

        try
        {
            Directory.Delete(pod.Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        _log($"kubelet emulation: pod {pod.Namespace}/{pod.Name} stopped and removed");
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}

/// <summary>A pod as the kubelet emulation runs it.</summary>
public sealed class EmulatedPod(string ns, string name, string uid, string directory)
{
    private readonly Queue<string> _output = new();

    public string Namespace { get; } = ns;

    public string Name { get; } = name;

    public string Uid { get; } = uid;

    /// <summary>The pod's directory: volumes, service account, HOME.</summary>
    public string Directory { get; } = directory;

    public PodSandbox? Sandbox { get; internal set; }

    /// <summary>The agent's PID while it runs.</summary>
    public int? Pid
    {
        get
        {
            lock (Gate)
            {
                return Process is { HasExited: false } p ? p.Id : null;
            }
        }
    }

    public int RestartCount { get; internal set; }

    public bool Ready { get; internal set; }

    /// <summary>The environment the agent was last started with.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; internal set; } = new Dictionary<string, string>();

    /// <summary>The last lines the agent printed, and the kubelet emulation's notes.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    internal Lock Gate { get; } = new();

    internal Process? Process { get; set; }

    internal CancellationTokenSource Stopping { get; } = new();

    internal Task? Run { get; set; }

    internal bool EverReady { get; set; }

    internal DateTime StartTime { get; set; }

    internal (string Reason, string Message)? Waiting { get; set; }

    internal (int Code, DateTime At)? LastExit { get; set; }

    internal string? LastStatus { get; set; }

    /// <summary>The secret volumes of the agent container: name, the volume's <c>secret</c> source, directory.</summary>
    internal IReadOnlyList<(string Name, JsonObject Source, string HostPath)> SecretVolumes { get; set; } = [];

    internal void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
            while (_output.Count > 300)
            {
                _output.Dequeue();
            }
        }
    }
}
