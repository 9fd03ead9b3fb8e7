using Kuorum.Agent.Configuration;
using Kuorum.Agent.Health;

namespace Kuorum.Agent.Tests.Health;

/// <summary>Probe settings: sidecar defaults, validation that names the setting, and parsing of KUORUM_PROBE_*.</summary>
public sealed class ProbeSettingsTests
{
    [Fact]
    public void Defaults_AreSidecarFriendly_AndValid()
    {
        var settings = new ProbeSettings();
        settings.Validate();
        Assert.Equal(ProbeKind.None, settings.Kind);
        Assert.Equal("127.0.0.1", settings.Host);
        Assert.Equal("/", settings.Path);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Period);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.Timeout);
        Assert.Equal(TimeSpan.Zero, settings.InitialDelay);
        Assert.Equal(1, settings.SuccessThreshold);
        Assert.Equal(3, settings.FailureThreshold);
        Assert.Equal(TimeSpan.FromMilliseconds(250), settings.SlowThreshold);
        Assert.Equal(3, settings.RecoveryThreshold);
    }

    public static TheoryData<ProbeSettings, string, string> Invalid => new()
    {
        { new ProbeSettings { Kind = ProbeKind.Http }, "Port", "Port is 0; a http probe needs the application's port, 1..65535" },
        { new ProbeSettings { Kind = ProbeKind.Tcp, Port = 70000 }, "Port", "Port is 70000" },
        { new ProbeSettings { Timeout = TimeSpan.FromSeconds(2) }, "Timeout", "Timeout is 2s; it must be at least 1ms and at most Period (1s)" },
        { new ProbeSettings { SuccessThreshold = 0 }, "SuccessThreshold", "SuccessThreshold is 0; it must be a whole number in 1..100" },
        { new ProbeSettings { FailureThreshold = 0 }, "FailureThreshold", "FailureThreshold is 0; it must be a whole number in 1..100" },
        { new ProbeSettings { Path = "healthz" }, "Path", "Path is 'healthz'; it must start with /" },
        { new ProbeSettings { Period = TimeSpan.FromMilliseconds(5), Timeout = TimeSpan.FromMilliseconds(5), SlowThreshold = TimeSpan.Zero }, "Period", "Period is 5ms; it must be between 10ms and 1h" },
        { new ProbeSettings { SlowThreshold = TimeSpan.FromMilliseconds(600) }, "SlowThreshold", "SlowThreshold is 600ms; it must be 0 (off) or at most Timeout (500ms)" },
        { new ProbeSettings { Host = "not a host" }, "Host", "Host is 'not a host'; it must be a host name or an IP address" },
        { new ProbeSettings { InitialDelay = TimeSpan.FromSeconds(-1) }, "InitialDelay", "InitialDelay is -1000ms; it must be between 0 and 1h" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_OutOfRange_ThrowsNamingTheSetting(ProbeSettings settings, string param, string message)
    {
        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.Equal(param, error.ParamName);
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_KindNone_IgnoresThePort()
    {
        new ProbeSettings { Kind = ProbeKind.None, Port = 0 }.Validate();
        new ProbeSettings { Kind = ProbeKind.Grpc, Port = 50051, Service = "" }.Validate();
    }

    [Fact]
    public void FromEnvironment_ReadsEveryVariable()
    {
        var settings = ProbeSettings.FromEnvironment(new Dictionary<string, string>
        {
            ["KUORUM_PROBE_KIND"] = "GRPC",
            ["KUORUM_PROBE_HOST"] = "localhost",
            ["KUORUM_PROBE_PORT"] = "8081",
            ["KUORUM_PROBE_PATH"] = "/ready",
            ["KUORUM_PROBE_SERVICE"] = "orders.v1.Orders",
            ["KUORUM_PROBE_PERIOD"] = "2s",
            ["KUORUM_PROBE_TIMEOUT"] = "750ms",
            ["KUORUM_PROBE_INITIAL_DELAY"] = "5s",
            ["KUORUM_PROBE_SUCCESS_THRESHOLD"] = "2",
            ["KUORUM_PROBE_FAILURE_THRESHOLD"] = "4",
            ["KUORUM_PROBE_SLOW_THRESHOLD"] = "100ms",
            ["KUORUM_NODE_ID"] = "1",
        });
        Assert.Equal(
            new ProbeSettings
            {
                Kind = ProbeKind.Grpc,
                Host = "localhost",
                Port = 8081,
                Path = "/ready",
                Service = "orders.v1.Orders",
                Period = TimeSpan.FromSeconds(2),
                Timeout = TimeSpan.FromMilliseconds(750),
                InitialDelay = TimeSpan.FromSeconds(5),
                SuccessThreshold = 2,
                FailureThreshold = 4,
                SlowThreshold = TimeSpan.FromMilliseconds(100),
            },
            settings);
        Assert.Equal(4, settings.RecoveryThreshold);
    }

    [Fact]
    public void FromEnvironment_NothingSet_GivesTheDefaults() =>
        Assert.Equal(new ProbeSettings(), ProbeSettings.FromEnvironment(new Dictionary<string, string>()));

    [Fact]
    public void Parse_ShortPeriodWithoutTimeout_TheTimeoutAndSlowThresholdFollowThePeriod()
    {
        var settings = ProbeSettings.FromEnvironment(new Dictionary<string, string> { ["KUORUM_PROBE_PERIOD"] = "200ms" });
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.SlowThreshold);
    }

    [Theory]
    [InlineData("KUORUM_PROBE_KIND", "udp", "KUORUM_PROBE_KIND is 'udp'; it must be one of none, http, tcp, grpc")]
    [InlineData("KUORUM_PROBE_PORT", "http", "KUORUM_PROBE_PORT is 'http'; it must be a whole number")]
    [InlineData("KUORUM_PROBE_PERIOD", "fast", "KUORUM_PROBE_PERIOD is 'fast'; it must be a duration such as 500ms or 2s")]
    [InlineData("KUORUM_PROBE_TIMEOUT", "2s", "KUORUM_PROBE_TIMEOUT is 2s; it must be at least 1ms and at most --probe-period (1s)")]
    [InlineData("KUORUM_PROBE_FAILURE_THRESHOLD", "0", "KUORUM_PROBE_FAILURE_THRESHOLD is 0; it must be a whole number in 1..100")]
    [InlineData("KUORUM_PROBE_SUCCESS_THRESHOLD", "101", "KUORUM_PROBE_SUCCESS_THRESHOLD is 101; it must be a whole number in 1..100")]
    [InlineData("KUORUM_PROBE_PATH", "healthz", "KUORUM_PROBE_PATH is 'healthz'; it must start with /")]
    [InlineData("KUORUM_PROBE_SLOW_THRESHOLD", "1s", "KUORUM_PROBE_SLOW_THRESHOLD is 1s; it must be 0 (off) or at most --probe-timeout (500ms)")]
    [InlineData("KUORUM_PROBE_INITIAL_DELAY", "2h", "KUORUM_PROBE_INITIAL_DELAY is 7200s; it must be between 0 and 1h")]
    public void FromEnvironment_BadValue_NamesTheVariable(string variable, string value, string message)
    {
        var error = Assert.Throws<OptionsException>(() => ProbeSettings.FromEnvironment(new Dictionary<string, string> { [variable] = value }));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_KindWithoutPort_NamesThePortSetting_ByTheSourceOfEachValue()
    {
        var values = new Dictionary<string, (string Value, string Source)> { ["probe-kind"] = ("http", "--probe-kind") };
        var error = Assert.Throws<OptionsException>(() => ProbeSettings.Parse(values));
        Assert.StartsWith("--probe-port is 0; a http probe needs the application's port", error.Message, StringComparison.Ordinal);

        values["probe-timeout"] = ("900ms", "--probe-timeout");
        values["probe-period"] = ("800ms", "KUORUM_PROBE_PERIOD");
        values["probe-port"] = ("8080", "KUORUM_PROBE_PORT");
        error = Assert.Throws<OptionsException>(() => ProbeSettings.Parse(values));
        Assert.StartsWith("--probe-timeout is 900ms; it must be at least 1ms and at most KUORUM_PROBE_PERIOD (800ms)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_ListEveryProbeVariable_EachNamedAfterItsFlag()
    {
        Assert.Equal(
            [
                "KUORUM_PROBE_KIND", "KUORUM_PROBE_HOST", "KUORUM_PROBE_PORT", "KUORUM_PROBE_PATH", "KUORUM_PROBE_SERVICE", "KUORUM_PROBE_PERIOD",
                "KUORUM_PROBE_TIMEOUT", "KUORUM_PROBE_INITIAL_DELAY", "KUORUM_PROBE_SUCCESS_THRESHOLD", "KUORUM_PROBE_FAILURE_THRESHOLD",
                "KUORUM_PROBE_SLOW_THRESHOLD",
            ],
            ProbeSettings.Settings.Select(s => s.Env));
        Assert.All(ProbeSettings.Settings, s =>
        {
            Assert.Equal("KUORUM_" + s.Flag.ToUpperInvariant().Replace('-', '_'), s.Env);
            Assert.NotEmpty(s.Help);
        });
        Assert.Equal(ProbeSettings.Settings.Count, ProbeSettings.Settings.Select(s => s.Flag).Distinct().Count());
    }
}
