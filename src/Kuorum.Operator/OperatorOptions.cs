namespace Kuorum.Operator;

/// <summary>The operator's command-line arguments (the Helm chart passes them) and environment.</summary>
public sealed class OperatorOptions
{
    /// <summary>Whether to elect one active instance through a Lease (<c>--leader-elect</c>, default true).</summary>
    public bool LeaderElect { get; set; } = true;

    /// <summary>Where Prometheus <c>/metrics</c> is served (<c>--metrics-bind-address</c>, default :8080).</summary>
    public string MetricsBindAddress { get; set; } = ":8080";

    /// <summary>Where <c>/healthz</c> and <c>/readyz</c> are served (<c>--health-probe-bind-address</c>, default :8081).</summary>
    public string HealthProbeBindAddress { get; set; } = ":8081";

    /// <summary>The only namespace to watch (<c>--watch-namespace</c>); empty for all namespaces.</summary>
    public string WatchNamespace { get; set; } = "";

    /// <summary>The agent image of clusters that do not set one (<c>--agent-image</c>).</summary>
    public string AgentImage { get; set; } = "ghcr.io/kuorum/kuorum-agent:latest";

    /// <summary>Namespace of the leader-election Lease (<c>--leader-election-namespace</c>, default env POD_NAMESPACE).</summary>
    public string LeaderElectionNamespace { get; set; } = "";

    /// <summary>Name of the leader-election Lease.</summary>
    public string LeaderElectionId { get; set; } = "kuorum-operator";

    /// <summary>This instance's identity in the Lease (env POD_NAME, else the host name).</summary>
    public string Identity { get; set; } = Environment.MachineName;

    /// <summary>A kubeconfig file (<c>--kubeconfig</c>); used only outside a cluster.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Reconcile workers (<c>--workers</c>, default 2).</summary>
    public int Workers { get; set; } = 2;

    /// <summary>Lease duration; a standby takes over this long after the active instance stops renewing.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the active instance keeps trying to renew before it gives up leading.</summary>
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time between lease attempts.</summary>
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often every cluster is reconciled even without a change (status comes from the agents).</summary>
    public TimeSpan ResyncPeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    /// <param name="args">Arguments as <c>--name=value</c> or <c>--name value</c>.</param>
    /// <param name="environment">Reads an environment variable.</param>
    public static OperatorOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var options = new OperatorOptions
        {
            LeaderElectionNamespace = environment("POD_NAMESPACE") ?? "",
            Identity = environment("POD_NAME") is { Length: > 0 } pod ? pod : Environment.MachineName,
        };
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{arg}'; arguments look like --name=value");
            }

            string name, value;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = arg[2..eq];
                value = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                name = arg[2..];
                value = args[++i];
            }
            else
            {
                name = arg[2..];
                value = "true";
            }

            switch (name)
            {
                case "leader-elect":
                    options.LeaderElect = value switch
                    {
                        "true" => true,
                        "false" => false,
                        _ => throw new ArgumentException($"--leader-elect must be true or false, not '{value}'"),
                    };
                    break;
                case "metrics-bind-address":
                    _ = BindAddress.Parse(value, name);
                    options.MetricsBindAddress = value;
                    break;
                case "health-probe-bind-address":
                    _ = BindAddress.Parse(value, name);
                    options.HealthProbeBindAddress = value;
                    break;
                case "watch-namespace":
                    options.WatchNamespace = value;
                    break;
                case "agent-image":
                    options.AgentImage = value.Length > 0 ? value : throw new ArgumentException("--agent-image must not be empty");
                    break;
                case "leader-election-namespace":
                    options.LeaderElectionNamespace = value;
                    break;
                case "leader-election-id":
                    options.LeaderElectionId = value;
                    break;
                case "kubeconfig":
                    options.Kubeconfig = value;
                    break;
                case "workers":
                    options.Workers = int.TryParse(value, out var workers) && workers is >= 1 and <= 64
                        ? workers
                        : throw new ArgumentException($"--workers must be a number from 1 to 64, not '{value}'");
                    break;
                default:
                    throw new ArgumentException(
                        $"unknown argument --{name}; known: --leader-elect, --metrics-bind-address, --health-probe-bind-address, --watch-namespace, --agent-image, --leader-election-namespace, --leader-election-id, --kubeconfig, --workers");
            }
        }

        if (options.LeaderElect && options.LeaderElectionNamespace.Length == 0)
        {
            throw new ArgumentException("--leader-election-namespace is empty and POD_NAMESPACE is not set; set one, or pass --leader-elect=false");
        }

        return options;
    }
}

/// <summary>A listen address written as <c>host:port</c> or <c>:port</c> (all interfaces); <c>0</c> disables it.</summary>
/// <param name="Host">The host, or empty for all interfaces.</param>
/// <param name="Port">The port; 0 when disabled.</param>
public readonly record struct BindAddress(string Host, int Port)
{
    /// <summary>Whether the endpoint is disabled (address "0").</summary>
    public bool Disabled => Port == 0;

    /// <summary>Parses an address, naming the setting in the error.</summary>
    /// <param name="text">The address.</param>
    /// <param name="setting">The argument's name, for errors.</param>
    public static BindAddress Parse(string text, string setting)
    {
        if (text == "0")
        {
            return new BindAddress("", 0);
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"--{setting} must look like :8080 or 127.0.0.1:8080 (or 0 to disable), not '{text}'");
        }

        return new BindAddress(text[..colon].Trim('[', ']'), port);
    }
}
