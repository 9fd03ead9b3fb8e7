using System.Globalization;
using System.Net;
using Kuorum.Agent.Health;
using Kuorum.Agent.Security;

namespace Kuorum.Agent.Configuration;

/// <summary>
/// Everything the agent is told at start, from the command line (<c>--node-id 1</c> or <c>--node-id=1</c>) and from
/// <c>KUORUM_*</c> environment variables (<c>KUORUM_NODE_ID=1</c>); the command line wins. <see cref="Parse"/>
/// validates every setting and the timing invariants, and throws <see cref="OptionsException"/> naming the setting
/// and what is allowed.
/// </summary>
public sealed class AgentOptions
{
    /// <summary>This agent's Raft node id (1 or more).</summary>
    public long NodeId { get; init; }

    /// <summary>Peer address (host:port of the peer port) of every member known at start, this agent included.</summary>
    public IReadOnlyDictionary<long, string> Peers { get; init; } = new Dictionary<long, string>();

    /// <summary>
    /// Address of any member by id, for members added later: <c>{ordinal}</c> is replaced by id − 1 (a StatefulSet
    /// ordinal), <c>{id}</c> by the id. Empty when not used.
    /// </summary>
    public string PeerAddressTemplate { get; init; } = "";

    /// <summary>The members a brand-new cluster forms from.</summary>
    public IReadOnlyList<long> BootstrapMembers { get; init; } = [];

    /// <summary>Start empty and wait to be added to an existing cluster (as a learner) instead of bootstrapping.</summary>
    public bool Join { get; init; }

    /// <summary>Directory of the journal, the state machine and the snapshots.</summary>
    public string DataDirectory { get; init; } = "/var/lib/kuorum";

    /// <summary>Address the peer and admin ports listen on.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Any;

    /// <summary>Peer port: Raft between agents, and the Admin service.</summary>
    public int PeerPort { get; init; } = 7400;

    /// <summary>Application API port, on 127.0.0.1 only.</summary>
    public int ApiPort { get; init; } = 7401;

    /// <summary>Unix socket of the application API (empty: none).</summary>
    public string ApiSocket { get; init; } = "";

    /// <summary>Admin HTTP port: /metrics, /healthz, /readyz.</summary>
    public int AdminPort { get; init; } = 7402;

    /// <summary>How often the leader sends heartbeats; also the Raft tick.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a follower waits without hearing a leader before it campaigns (randomised up to twice this).</summary>
    public TimeSpan ElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest key in bytes.</summary>
    public int MaxKeyBytes { get; init; } = 4096;

    /// <summary>Largest value in bytes.</summary>
    public int MaxValueBytes { get; init; } = 1 << 20;

    /// <summary>Most operations in one transaction.</summary>
    public int MaxTxnOps { get; init; } = 128;

    /// <summary>Take a snapshot after this many applied entries.</summary>
    public long SnapshotEntries { get; init; } = 100_000;

    /// <summary>Take a snapshot when the oldest unsnapshotted entry is this old (so a quiet cluster still compacts).</summary>
    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a leader stopping gracefully waits for its successor.</summary>
    public TimeSpan ShutdownTransferTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Pod name (for the leader label and the node id); empty outside Kubernetes.</summary>
    public string PodName { get; init; } = "";

    /// <summary>Pod namespace.</summary>
    public string PodNamespace { get; init; } = "";

    /// <summary>How the agent probes its application.</summary>
    public ProbeSettings Probe { get; init; } = new();

    /// <summary>Where the application serves its clients (host:port), published in the endpoint table; empty: the probe's host and port when probing.</summary>
    public string AppAddress { get; init; } = "";

    /// <summary>The routing strategy the endpoint table names: leader-only, random, round-robin, weighted or least-request.</summary>
    public string WeightingStrategy { get; init; } = "weighted";

    /// <summary>Minimum log level: trace, debug, information, warning, error.</summary>
    public string LogLevel { get; init; } = "information";

    /// <summary>
    /// Mutual TLS on the peer port: this agent's certificate and key and the CA peers' certificates must chain to; null
    /// when none of the three files is given (plaintext HTTP/2). The files are only named here; they are read and checked
    /// by <see cref="PeerCertificates.Load"/>.
    /// </summary>
    public PeerTlsSettings? PeerTls { get; init; }

    /// <summary>Election timeout in ticks (the tick is the heartbeat interval).</summary>
    public int ElectionTicks => (int)Math.Round(ElectionTimeout / HeartbeatInterval);

    /// <summary>The application's address as published: <see cref="AppAddress"/>, else the probed host and port, else empty.</summary>
    public string PublishedAppAddress =>
        AppAddress.Length > 0 ? AppAddress
        : Probe.Kind != ProbeKind.None && Probe.Port > 0 ? $"{Probe.Host}:{Probe.Port.ToString(CultureInfo.InvariantCulture)}"
        : "";

    /// <summary>This agent's own peer address.</summary>
    public string SelfAddress => AddressOf(NodeId) ?? $"127.0.0.1:{PeerPort}";

    /// <summary>The configured address of <paramref name="id"/>, from the peer list or the template.</summary>
    public string? AddressOf(long id) =>
        Peers.TryGetValue(id, out var address) ? address
        : PeerAddressTemplate.Length > 0
            ? PeerAddressTemplate.Replace("{ordinal}", (id - 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{id}", id.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            : null;

    /// <summary>The settings: name, environment variable, meaning.</summary>
    public static IReadOnlyList<(string Flag, string Env, string Help)> Settings { get; } =
    [
        ("node-id", "KUORUM_NODE_ID", "this agent's node id, 1 or more (default: pod ordinal + 1 from --pod-name)"),
        ("peers", "KUORUM_PEERS", "members known at start, as id=host:port,id=host:port"),
        ("peer-address-template", "KUORUM_PEER_ADDRESS_TEMPLATE", "host:port of any member, {ordinal} = id - 1, {id} = id"),
        ("bootstrap-members", "KUORUM_BOOTSTRAP_MEMBERS", "a count N (members 1..N) or a list of ids a new cluster forms from (default: every id in --peers)"),
        ("join", "KUORUM_JOIN", "true: start empty and wait to be added to an existing cluster"),
        ("data-dir", "KUORUM_DATA_DIR", "directory for the log, the state and snapshots (default /var/lib/kuorum)"),
        ("bind-address", "KUORUM_BIND_ADDRESS", "IP address the peer and admin ports listen on (default 0.0.0.0)"),
        ("peer-port", "KUORUM_PEER_PORT", "peer gRPC port (default 7400)"),
        ("api-port", "KUORUM_API_PORT", "application gRPC port on 127.0.0.1 (default 7401)"),
        ("api-socket", "KUORUM_API_SOCKET", "Unix socket for the application API (default none)"),
        ("admin-port", "KUORUM_ADMIN_PORT", "admin HTTP port (default 7402)"),
        ("heartbeat-interval", "KUORUM_HEARTBEAT_INTERVAL", "heartbeat period and Raft tick, 5ms..5s (default 50ms)"),
        ("election-timeout", "KUORUM_ELECTION_TIMEOUT", "election timeout, more than 2 heartbeats, up to 60s (default 500ms)"),
        ("max-key-bytes", "KUORUM_MAX_KEY_BYTES", "largest key, 1..65536 (default 4096)"),
        ("max-value-bytes", "KUORUM_MAX_VALUE_BYTES", "largest value, 0..16777216 (default 1048576)"),
        ("max-txn-ops", "KUORUM_MAX_TXN_OPS", "most operations in one transaction, 1..1024 (default 128)"),
        ("snapshot-entries", "KUORUM_SNAPSHOT_ENTRIES", "snapshot after this many applied entries, 100..100000000 (default 100000)"),
        ("snapshot-interval", "KUORUM_SNAPSHOT_INTERVAL", "snapshot entries older than this, 1s..7d (default 10m)"),
        ("shutdown-transfer-timeout", "KUORUM_SHUTDOWN_TRANSFER_TIMEOUT", "how long a stopping leader waits for its successor, 0..60s (default 3s)"),
        ("pod-name", "KUORUM_POD_NAME", "the pod's name (Kubernetes)"),
        ("pod-namespace", "KUORUM_POD_NAMESPACE", "the pod's namespace (Kubernetes)"),
        ("log-level", "KUORUM_LOG_LEVEL", "trace, debug, information, warning or error (default information)"),
        ("app-address", "KUORUM_APP_ADDRESS", "host:port where the application serves clients, for the endpoint table (default: the probe's)"),
        ("weighting-strategy", "KUORUM_WEIGHTING_STRATEGY", "leader-only, random, round-robin, weighted (default) or least-request"),
        ("peer-tls-cert", "KUORUM_PEER_TLS_CERT", "PEM file with this agent's peer certificate (chain allowed); with the key and the CA: mutual TLS on the peer port"),
        ("peer-tls-key", "KUORUM_PEER_TLS_KEY", "PEM file with that certificate's private key (PKCS#8, EC or RSA; not encrypted)"),
        ("peer-tls-ca", "KUORUM_PEER_TLS_CA", "PEM file with the CA certificate(s) every peer's certificate must chain to"),
        .. ProbeSettings.Settings,
    ];

    /// <summary>Reads and validates the options.</summary>
    /// <exception cref="OptionsException">A setting is unknown, malformed or out of range.</exception>
    public static AgentOptions Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var values = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal);
        foreach (var (flag, env, _) in Settings)
        {
            if (environment.TryGetValue(env, out var value) && value.Length > 0)
            {
                values[flag] = (value, env);
            }
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new OptionsException($"unexpected argument '{arg}': settings are given as --name value or --name=value (see --help)");
            }

            var name = arg[2..];
            string value;
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else if (name == "join")
            {
                value = "true";
            }
            else
            {
                throw new OptionsException($"--{name} needs a value");
            }

            if (!Settings.Any(s => s.Flag == name))
            {
                throw new OptionsException($"unknown setting --{name}; known settings: {string.Join(", ", Settings.Select(s => "--" + s.Flag))}");
            }

            values[name] = (value, "--" + name);
        }

        var reader = new Reader(values);
        var podName = reader.String("pod-name", "");
        var peers = reader.Peers("peers");
        var nodeId = reader.Has("node-id") ? reader.Int64("node-id", 1, long.MaxValue, 0) : OrdinalId(podName, reader);
        var bootstrap = reader.Members("bootstrap-members") ?? [.. peers.Keys.Order()];
        var options = new AgentOptions
        {
            NodeId = nodeId,
            Peers = peers,
            PeerAddressTemplate = reader.String("peer-address-template", ""),
            BootstrapMembers = bootstrap,
            Join = reader.Bool("join", false),
            DataDirectory = reader.String("data-dir", "/var/lib/kuorum"),
            BindAddress = reader.Address("bind-address", IPAddress.Any),
            PeerPort = (int)reader.Int64("peer-port", 1, 65535, 7400),
            ApiPort = (int)reader.Int64("api-port", 1, 65535, 7401),
            ApiSocket = reader.String("api-socket", ""),
            AdminPort = (int)reader.Int64("admin-port", 1, 65535, 7402),
            HeartbeatInterval = reader.Duration("heartbeat-interval", TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50)),
            ElectionTimeout = reader.Duration("election-timeout", TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500)),
            MaxKeyBytes = (int)reader.Int64("max-key-bytes", 1, 65536, 4096),
            MaxValueBytes = (int)reader.Int64("max-value-bytes", 0, 16 << 20, 1 << 20),
            MaxTxnOps = (int)reader.Int64("max-txn-ops", 1, 1024, 128),
            SnapshotEntries = reader.Int64("snapshot-entries", 100, 100_000_000, 100_000),
            SnapshotInterval = reader.Duration("snapshot-interval", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), TimeSpan.FromMinutes(10)),
            ShutdownTransferTimeout = reader.Duration("shutdown-transfer-timeout", TimeSpan.Zero, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(3)),
            PodName = podName,
            PodNamespace = reader.String("pod-namespace", ""),
            LogLevel = reader.OneOf("log-level", ["trace", "debug", "information", "warning", "error"], "information"),
            Probe = ProbeSettings.Parse(values),
            AppAddress = reader.String("app-address", ""),
            WeightingStrategy = reader.OneOf("weighting-strategy", ["leader-only", "random", "round-robin", "weighted", "least-request"], "weighted"),
            PeerTls = reader.PeerTls(),
        };
        options.Validate(reader);
        return options;
    }

    private void Validate(Reader reader)
    {
        if (NodeId < 1)
        {
            throw new OptionsException("the node id is not set: give --node-id (KUORUM_NODE_ID) or a --pod-name (KUORUM_POD_NAME) ending in -<ordinal>");
        }

        // Raft's heartbeat must arrive several times within an election timeout, or followers campaign against a live leader.
        if (ElectionTimeout <= HeartbeatInterval * 2)
        {
            throw new OptionsException(
                $"{reader.SourceOf("election-timeout")} ({ElectionTimeout.TotalMilliseconds} ms) must be more than twice {reader.SourceOf("heartbeat-interval")} ({HeartbeatInterval.TotalMilliseconds} ms)");
        }

        if (ElectionTicks > 1000)
        {
            throw new OptionsException(
                $"{reader.SourceOf("election-timeout")} is {ElectionTicks} heartbeats long; at most 1000 heartbeat intervals are allowed (raise the heartbeat interval)");
        }

        var ports = new[] { ("peer-port", PeerPort), ("api-port", ApiPort), ("admin-port", AdminPort) };
        foreach (var group in ports.GroupBy(p => p.Item2).Where(g => g.Count() > 1))
        {
            throw new OptionsException($"{string.Join(" and ", group.Select(p => reader.SourceOf(p.Item1)))} are both {group.Key}: each port must differ");
        }

        if (Peers.Count > 0 && !Peers.ContainsKey(NodeId) && PeerAddressTemplate.Length == 0)
        {
            throw new OptionsException($"{reader.SourceOf("peers")} does not list this node ({NodeId}); list every member with its address, this one included");
        }

        if (AddressOf(NodeId) is null)
        {
            throw new OptionsException($"no address for this node ({NodeId}): give --peers (KUORUM_PEERS) or --peer-address-template (KUORUM_PEER_ADDRESS_TEMPLATE)");
        }

        if (!Join && BootstrapMembers.Count == 0)
        {
            throw new OptionsException("no members to form a cluster from: give --peers or --bootstrap-members, or --join to join an existing cluster");
        }

        foreach (var member in BootstrapMembers)
        {
            if (AddressOf(member) is null)
            {
                throw new OptionsException($"{reader.SourceOf("bootstrap-members")} names member {member}, whose address is unknown: list it in --peers or give --peer-address-template");
            }
        }

        if (DataDirectory.Length == 0)
        {
            throw new OptionsException($"{reader.SourceOf("data-dir")} is empty; give a directory the agent may write");
        }
    }

    private static long OrdinalId(string podName, Reader reader)
    {
        var dash = podName.LastIndexOf('-');
        if (podName.Length == 0)
        {
            return 0;
        }

        if (dash < 0 || !long.TryParse(podName.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal) || ordinal > 1_000_000)
        {
            throw new OptionsException($"{reader.SourceOf("pod-name")} is '{podName}'; without --node-id it must end in -<ordinal> (a StatefulSet pod name)");
        }

        return ordinal + 1;
    }

    /// <summary>Parses a duration: <c>250ms</c>, <c>2s</c>, <c>1m</c>, <c>1h</c>, <c>1d</c>, or a bare number of milliseconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        (string Suffix, double Milliseconds)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
        foreach (var (suffix, factor) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && number >= 0 && double.IsFinite(number))
            {
                duration = TimeSpan.FromMilliseconds(number * factor);
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var bare) && bare >= 0 && double.IsFinite(bare))
        {
            duration = TimeSpan.FromMilliseconds(bare);
            return true;
        }

        return false;
    }

    private sealed class Reader(Dictionary<string, (string Value, string Source)> values)
    {
        public bool Has(string flag) => values.ContainsKey(flag);

        public string SourceOf(string flag) => values.TryGetValue(flag, out var v) ? v.Source : "--" + flag;

        public string String(string flag, string fallback) => values.TryGetValue(flag, out var v) ? v.Value : fallback;

        public long Int64(string flag, long min, long max, long fallback)
        {
            if (!values.TryGetValue(flag, out var v))
            {
                return fallback;
            }

            if (!long.TryParse(v.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
            {
                throw new OptionsException($"{v.Source} is '{v.Value}'; it must be a whole number in {min}..{max}");
            }

            return number;
        }

        public bool Bool(string flag, bool fallback)
        {
            if (!values.TryGetValue(flag, out var v))
            {
                return fallback;
            }

            return v.Value.ToLowerInvariant() switch
            {
                "true" or "1" or "yes" => true,
                "false" or "0" or "no" => false,
                _ => throw new OptionsException($"{v.Source} is '{v.Value}'; it must be true or false"),
            };
        }

        public string OneOf(string flag, string[] allowed, string fallback)
        {
            if (!values.TryGetValue(flag, out var v))
            {
                return fallback;
            }

            var value = v.Value.ToLowerInvariant();
            return allowed.Contains(value) ? value : throw new OptionsException($"{v.Source} is '{v.Value}'; it must be one of {string.Join(", ", allowed)}");
        }

        // All three files or none: a certificate without its key or without the CA to check peers by is a mistake, not a mode.
        public PeerTlsSettings? PeerTls()
        {
            string[] flags = ["peer-tls-cert", "peer-tls-key", "peer-tls-ca"];
            var given = flags.Where(values.ContainsKey).ToList();
            if (given.Count == 0)
            {
                return null;
            }

            if (given.Count < flags.Length)
            {
                var missing = flags.Except(given).Select(f => $"--{f} ({Settings.First(s => s.Flag == f).Env})");
                throw new OptionsException(
                    $"{string.Join(" and ", given.Select(SourceOf))} given without {string.Join(" and ", missing)}: mutual TLS on the peer port needs all three of --peer-tls-cert, --peer-tls-key and --peer-tls-ca, or none of them for plaintext");
            }

            foreach (var flag in flags)
            {
                if (values[flag].Value.Trim().Length == 0)
                {
                    throw new OptionsException($"{SourceOf(flag)} is empty; give the path of a PEM file");
                }
            }

            return new PeerTlsSettings(
                values["peer-tls-cert"].Value, values["peer-tls-key"].Value, values["peer-tls-ca"].Value,
                SourceOf("peer-tls-cert"), SourceOf("peer-tls-key"), SourceOf("peer-tls-ca"));
        }

        public IPAddress Address(string flag, IPAddress fallback)
        {
            if (!values.TryGetValue(flag, out var v))
            {
                return fallback;
            }

            return IPAddress.TryParse(v.Value, out var address) ? address : throw new OptionsException($"{v.Source} is '{v.Value}'; it must be an IP address such as 0.0.0.0 or 127.0.0.1");
        }

        public TimeSpan Duration(string flag, TimeSpan min, TimeSpan max, TimeSpan fallback)
        {
            if (!values.TryGetValue(flag, out var v))
            {
                return fallback;
            }

            if (!TryParseDuration(v.Value, out var duration))
            {
                throw new OptionsException($"{v.Source} is '{v.Value}'; it must be a duration such as 50ms, 2s or 1m");
            }

            if (duration < min || duration > max)
            {
                throw new OptionsException($"{v.Source} is {v.Value}; it must be between {Show(min)} and {Show(max)}");
            }

            return duration;
        }

        public Dictionary<long, string> Peers(string flag)
        {
            var peers = new Dictionary<long, string>();
            if (!values.TryGetValue(flag, out var v))
            {
                return peers;
            }

            foreach (var part in v.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0
                    || !long.TryParse(part.AsSpan(0, equals), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1
                    || !IsHostPort(part[(equals + 1)..]))
                {
                    throw new OptionsException($"{v.Source} has '{part}'; each member is id=host:port with id 1 or more, e.g. 1=10.0.0.1:7400");
                }

                if (!peers.TryAdd(id, part[(equals + 1)..]))
                {
                    throw new OptionsException($"{v.Source} lists member {id} twice");
                }
            }

            return peers;
        }

        public List<long>? Members(string flag)
        {
            if (!values.TryGetValue(flag, out var v))
            {
                return null;
            }

            var parts = v.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 1 && !v.Value.Contains(',', StringComparison.Ordinal)
                && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is >= 1 and <= 9)
            {
                return [.. Enumerable.Range(1, (int)count).Select(i => (long)i)];
            }

            var members = new List<long>();
            foreach (var part in parts)
            {
                if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1 || members.Contains(id))
                {
                    throw new OptionsException($"{v.Source} is '{v.Value}'; it must be a member count 1..9 or a list of distinct ids such as 1,2,3");
                }

                members.Add(id);
            }

            return members.Count > 0 ? members : throw new OptionsException($"{v.Source} is empty; give a member count or ids");
        }

        private static bool IsHostPort(string text)
        {
            var colon = text.LastIndexOf(':');
            return colon > 0
                && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
                && Uri.CheckHostName(text[..colon].Trim('[', ']')) != UriHostNameType.Unknown;
        }

        private static string Show(TimeSpan t) => t.TotalMilliseconds < 1000 ? $"{t.TotalMilliseconds}ms" : $"{t.TotalSeconds}s";
    }
}

/// <summary>A setting is wrong; the message names it and what is allowed.</summary>
public sealed class OptionsException(string message) : Exception(message);
