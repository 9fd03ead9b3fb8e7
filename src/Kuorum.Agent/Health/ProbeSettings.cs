using System.Globalization;
using Kuorum.Agent.Configuration;

namespace Kuorum.Agent.Health;

/// <summary>
/// How the agent probes its application, with Kubernetes probe semantics (period, timeout, initial delay, success and
/// failure thresholds) plus a slow threshold for the warning tier. The defaults suit a sidecar on loopback: a probe
/// every second, 500 ms timeout, passing after 1 success, critical after 3 failures, warning above 250 ms.
/// </summary>
public sealed record ProbeSettings
{
    private static readonly TimeSpan _minPeriod = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan _maxDuration = TimeSpan.FromHours(1);
    private const int MaxThreshold = 100;

    // Flag, the property it sets (named by Validate), environment variable, help.
    private static readonly (string Flag, string Property, string Env, string Help)[] _table =
    [
        ("probe-kind", nameof(Kind), "KUORUM_PROBE_KIND", "how the agent checks its application: none, http, tcp or grpc (default none)"),
        ("probe-host", nameof(Host), "KUORUM_PROBE_HOST", "host the probe connects to (default 127.0.0.1)"),
        ("probe-port", nameof(Port), "KUORUM_PROBE_PORT", "the application's port to probe, 1..65535 (needed unless the kind is none)"),
        ("probe-path", nameof(Path), "KUORUM_PROBE_PATH", "path of the HTTP probe, starting with / (default /)"),
        ("probe-service", nameof(Service), "KUORUM_PROBE_SERVICE", "service name of the gRPC health check (default empty: the whole server)"),
        ("probe-period", nameof(Period), "KUORUM_PROBE_PERIOD", "time between probes, 10ms..1h (default 1s)"),
        ("probe-timeout", nameof(Timeout), "KUORUM_PROBE_TIMEOUT", "a probe without an answer within this fails, 1ms..the period (default 500ms)"),
        ("probe-initial-delay", nameof(InitialDelay), "KUORUM_PROBE_INITIAL_DELAY", "wait before the first probe, 0..1h (default 0)"),
        ("probe-success-threshold", nameof(SuccessThreshold), "KUORUM_PROBE_SUCCESS_THRESHOLD", "consecutive successes that make the application passing, 1..100 (default 1)"),
        ("probe-failure-threshold", nameof(FailureThreshold), "KUORUM_PROBE_FAILURE_THRESHOLD", "consecutive failures that make it critical, 1..100 (default 3)"),
        ("probe-slow-threshold", nameof(SlowThreshold), "KUORUM_PROBE_SLOW_THRESHOLD", "a successful probe slower than this is a warning, 0 (off)..the timeout (default 250ms)"),
    ];

    /// <summary>How to probe; <see cref="ProbeKind.None"/> means the application always counts as passing.</summary>
    public ProbeKind Kind { get; init; } = ProbeKind.None;

    /// <summary>Host the probe connects to.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The application's port (1..65535; ignored when <see cref="Kind"/> is none).</summary>
    public int Port { get; init; }

    /// <summary>Path of the HTTP probe, starting with <c>/</c>.</summary>
    public string Path { get; init; } = "/";

    /// <summary>Service name of the gRPC health check; empty asks about the whole server.</summary>
    public string Service { get; init; } = "";

    /// <summary>Time between the starts of two probes.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A probe without an answer within this fails (at most <see cref="Period"/>).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Wait before the first probe; results before it are ignored.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Consecutive successes that make the application passing at start, and that take it out of critical.</summary>
    public int SuccessThreshold { get; init; } = 1;

    /// <summary>Consecutive failures that make the application critical.</summary>
    public int FailureThreshold { get; init; } = 3;

    /// <summary>A successful probe slower than this counts as a warning; zero turns the check off.</summary>
    public TimeSpan SlowThreshold { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Consecutive good results (successful and not slow) that take the application from warning back to passing:
    /// the larger of the two thresholds, so recovering takes at least as long as failing did.
    /// </summary>
    public int RecoveryThreshold => Math.Max(SuccessThreshold, FailureThreshold);

    /// <summary>The settings as command-line flag (without <c>--</c>), environment variable and meaning.</summary>
    public static IReadOnlyList<(string Flag, string Env, string Help)> Settings { get; } = [.. _table.Select(s => (s.Flag, s.Env, s.Help))];

    /// <summary>Checks every setting and the relations between them.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it (by property) and what is allowed.</exception>
    public void Validate()
    {
        if (Problem(flag => _table.First(s => s.Flag == flag).Property) is { } problem)
        {
            throw new ArgumentException(problem.Message, _table.First(s => s.Flag == problem.Flag).Property);
        }
    }

    /// <summary>
    /// Reads the probe settings from values keyed by flag name (without <c>--</c>), each with its source (the flag or
    /// the environment variable it came from, used in messages) — the shape <see cref="AgentOptions"/> collects —
    /// and validates them. Keys that are not probe settings are ignored.
    /// </summary>
    /// <exception cref="OptionsException">A value is malformed or out of range; the message names its source.</exception>
    public static ProbeSettings Parse(IReadOnlyDictionary<string, (string Value, string Source)> values)
    {
        string SourceOf(string flag) => values.TryGetValue(flag, out var v) ? v.Source : "--" + flag;
        var defaults = new ProbeSettings();
        var settings = new ProbeSettings
        {
            Kind = values.TryGetValue("probe-kind", out var kind) ? ParseKind(kind) : defaults.Kind,
            Host = values.TryGetValue("probe-host", out var host) ? host.Value.Trim() : defaults.Host,
            Port = values.TryGetValue("probe-port", out var port) ? ParseInt(port) : defaults.Port,
            Path = values.TryGetValue("probe-path", out var path) ? path.Value.Trim() : defaults.Path,
            Service = values.TryGetValue("probe-service", out var service) ? service.Value.Trim() : defaults.Service,
            Period = values.TryGetValue("probe-period", out var period) ? ParseDuration(period) : defaults.Period,
            Timeout = values.TryGetValue("probe-timeout", out var timeout) ? ParseDuration(timeout) : defaults.Timeout,
            InitialDelay = values.TryGetValue("probe-initial-delay", out var delay) ? ParseDuration(delay) : defaults.InitialDelay,
            SuccessThreshold = values.TryGetValue("probe-success-threshold", out var success) ? ParseInt(success) : defaults.SuccessThreshold,
            FailureThreshold = values.TryGetValue("probe-failure-threshold", out var failure) ? ParseInt(failure) : defaults.FailureThreshold,
            SlowThreshold = values.TryGetValue("probe-slow-threshold", out var slow) ? ParseDuration(slow) : defaults.SlowThreshold,
        };

        // A smaller period than the default timeout is a common wish; let the timeout follow it unless it was given.
        if (!values.ContainsKey("probe-timeout") && settings.Timeout > settings.Period)
        {
            settings = settings with { Timeout = settings.Period };
        }

        if (!values.ContainsKey("probe-slow-threshold") && settings.SlowThreshold > settings.Timeout)
        {
            settings = settings with { SlowThreshold = settings.Timeout };
        }

        return settings.Problem(SourceOf) is { } problem ? throw new OptionsException(problem.Message) : settings;
    }

    /// <summary>Reads the probe settings from <c>KUORUM_PROBE_*</c> environment variables only.</summary>
    /// <exception cref="OptionsException">A value is malformed or out of range; the message names the variable.</exception>
    public static ProbeSettings FromEnvironment(IReadOnlyDictionary<string, string> environment)
    {
        var values = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal);
        foreach (var (flag, env, _) in Settings)
        {
            if (environment.TryGetValue(env, out var value) && value.Length > 0)
            {
                values[flag] = (value, env);
            }
        }

        return Parse(values);
    }

    private (string Flag, string Message)? Problem(Func<string, string> nameOf)
    {
        if (!Enum.IsDefined(Kind))
        {
            return ("probe-kind", $"{nameOf("probe-kind")} is {(int)Kind}; it must be none, http, tcp or grpc");
        }

        if (string.IsNullOrWhiteSpace(Host) || Uri.CheckHostName(Host.Trim('[', ']')) == UriHostNameType.Unknown)
        {
            return ("probe-host", $"{nameOf("probe-host")} is '{Host}'; it must be a host name or an IP address such as 127.0.0.1");
        }

        if (Kind != ProbeKind.None && Port is < 1 or > 65535)
        {
            return ("probe-port", $"{nameOf("probe-port")} is {Port}; a {Kind.ToString().ToLowerInvariant()} probe needs the application's port, 1..65535");
        }

        if (Path.Length == 0 || Path[0] != '/' || Path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return ("probe-path", $"{nameOf("probe-path")} is '{Path}'; it must start with / and hold no spaces, e.g. /healthz");
        }

        if (Service.Any(char.IsControl))
        {
            return ("probe-service", $"{nameOf("probe-service")} holds a control character; give a gRPC service name such as my.package.MyService");
        }

        if (Period < _minPeriod || Period > _maxDuration)
        {
            return ("probe-period", $"{nameOf("probe-period")} is {Show(Period)}; it must be between 10ms and 1h");
        }

        if (Timeout < TimeSpan.FromMilliseconds(1) || Timeout > Period)
        {
            return ("probe-timeout", $"{nameOf("probe-timeout")} is {Show(Timeout)}; it must be at least 1ms and at most {nameOf("probe-period")} ({Show(Period)})");
        }

        if (InitialDelay < TimeSpan.Zero || InitialDelay > _maxDuration)
        {
            return ("probe-initial-delay", $"{nameOf("probe-initial-delay")} is {Show(InitialDelay)}; it must be between 0 and 1h");
        }

        if (SuccessThreshold is < 1 or > MaxThreshold)
        {
            return ("probe-success-threshold", $"{nameOf("probe-success-threshold")} is {SuccessThreshold}; it must be a whole number in 1..{MaxThreshold}");
        }

        if (FailureThreshold is < 1 or > MaxThreshold)
        {
            return ("probe-failure-threshold", $"{nameOf("probe-failure-threshold")} is {FailureThreshold}; it must be a whole number in 1..{MaxThreshold}");
        }

        if (SlowThreshold < TimeSpan.Zero || SlowThreshold > Timeout)
        {
            return ("probe-slow-threshold", $"{nameOf("probe-slow-threshold")} is {Show(SlowThreshold)}; it must be 0 (off) or at most {nameOf("probe-timeout")} ({Show(Timeout)})");
        }

        return null;
    }

    private static ProbeKind ParseKind((string Value, string Source) v) => v.Value.Trim().ToLowerInvariant() switch
    {
        "none" => ProbeKind.None,
        "http" => ProbeKind.Http,
        "tcp" => ProbeKind.Tcp,
        "grpc" => ProbeKind.Grpc,
        _ => throw new OptionsException($"{v.Source} is '{v.Value}'; it must be one of none, http, tcp, grpc"),
    };

    private static int ParseInt((string Value, string Source) v) =>
        int.TryParse(v.Value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new OptionsException($"{v.Source} is '{v.Value}'; it must be a whole number");

    private static TimeSpan ParseDuration((string Value, string Source) v) =>
        AgentOptions.TryParseDuration(v.Value, out var duration)
            ? duration
            : throw new OptionsException($"{v.Source} is '{v.Value}'; it must be a duration such as 500ms or 2s");

    private static string Show(TimeSpan t) =>
        t.TotalMilliseconds < 1000
            ? t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms"
            : t.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s";
}
