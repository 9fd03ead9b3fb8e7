using System.Diagnostics;
using System.Globalization;

namespace Kuorum.Demo;

/// <summary>One replica of the demo application as a child process of the narrator (this same program in <c>app</c> mode).</summary>
public sealed class DemoProcess : IAsyncDisposable
{
    private readonly Process _process;

    private DemoProcess(Process process, int httpPort)
    {
        _process = process;
        HttpPort = httpPort;
    }

    /// <summary>The replica's HTTP port on 127.0.0.1.</summary>
    public int HttpPort { get; }

    /// <summary>Starts a replica on <paramref name="port"/> beside the agent whose API is on <paramref name="agentApiPort"/>.</summary>
    public static DemoProcess Start(string name, int agentApiPort, int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            typeof(DemoProcess).Assembly.Location, "app", "--name", name,
            "--agent", $"http://127.0.0.1:{agentApiPort}", "--http-port", port.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new DemoProcess(process, port);
    }

    /// <summary>Switches the replica's fault mode: ok, slow or fail.</summary>
    public async Task SetModeAsync(string mode)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        (await http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/mode/{mode}")).ConfigureAwait(false)).EnsureSuccessStatusCode();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }
}
