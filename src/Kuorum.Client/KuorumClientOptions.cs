using Kuorum.Client.Internal;
using Microsoft.Extensions.Logging;

namespace Kuorum.Client;

/// <summary>
/// How a <see cref="KuorumClient"/> reaches its sidecar and how patiently it retries.
/// </summary>
/// <remarks>
/// Set either <see cref="SocketPath"/> or <see cref="Address"/>, not both. When neither is set the client uses
/// the Unix socket <see cref="DefaultSocketPath"/> if it exists when the client is created, and
/// <see cref="DefaultAddress"/> otherwise: the agent serves both.
/// </remarks>
public sealed class KuorumClientOptions
{
    /// <summary>The Unix socket the agent listens on inside a pod (a shared <c>emptyDir</c>).</summary>
    public const string DefaultSocketPath = "/run/kuorum/agent.sock";

    /// <summary>The agent's application API on the loopback interface.</summary>
    public const string DefaultAddress = "http://127.0.0.1:7401";

    /// <summary>Environment variable read by <see cref="FromEnvironment()"/> for <see cref="Address"/>.</summary>
    public const string AddressVariable = "KUORUM_AGENT_ADDRESS";

    /// <summary>Environment variable read by <see cref="FromEnvironment()"/> for <see cref="SocketPath"/>.</summary>
    public const string SocketVariable = "KUORUM_AGENT_SOCKET";

    /// <summary>The agent's gRPC address (<c>http://host:port</c>); null to use the socket or the default.</summary>
    public Uri? Address { get; set; }

    /// <summary>Path of the agent's Unix domain socket; null to use the address or the default.</summary>
    public string? SocketPath { get; set; }

    /// <summary>The consistency of reads that do not name one. Defaults to linearizable.</summary>
    public ReadConsistency DefaultReadConsistency { get; set; } = ReadConsistency.Linearizable;

    /// <summary>
    /// How many times an idempotent read (Get, Range, GetLeader, endpoint listing) is tried when the sidecar
    /// answers UNAVAILABLE. 1 disables retries. Writes are never retried. Defaults to 4.
    /// </summary>
    public int MaxReadAttempts { get; set; } = 4;

    /// <summary>First delay before a retry or a reconnection; doubled on each further failure. Defaults to 50 ms.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Upper bound of the retry and reconnection delay. Defaults to 1 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Bound on one attempt of a call the client makes on its own behalf (a readiness probe while waiting for the
    /// sidecar, the release of a lock while disposing it). Defaults to 2 s.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The clock behind every delay, keep-alive interval and deadline. Defaults to the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logs reconnections, lost leases and failed releases; null for none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Options from the environment: <c>KUORUM_AGENT_SOCKET</c> (a socket path) or <c>KUORUM_AGENT_ADDRESS</c>
    /// (an <c>http://</c> or <c>https://</c> URI); neither means the defaults.
    /// </summary>
    /// <exception cref="ArgumentException">Both variables are set, or the address is not an absolute http(s) URI.</exception>
    public static KuorumClientOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static KuorumClientOptions FromEnvironment(Func<string, string?> getVariable)
    {
        var options = new KuorumClientOptions();
        var socket = getVariable(SocketVariable);
        var address = getVariable(AddressVariable);
        if (!string.IsNullOrWhiteSpace(socket))
        {
            options.SocketPath = socket.Trim();
        }

        if (!string.IsNullOrWhiteSpace(address))
        {
            if (!Uri.TryCreate(address.Trim(), UriKind.Absolute, out var uri) || !IsHttp(uri))
            {
                throw new ArgumentException(
                    $"{AddressVariable} is '{address}'; it must be an absolute http:// or https:// URI such as {DefaultAddress}.");
            }

            options.Address = uri;
        }

        if (options.SocketPath is not null && options.Address is not null)
        {
            throw new ArgumentException(
                $"both {SocketVariable} and {AddressVariable} are set; set only one of them (the agent serves both).");
        }

        return options;
    }

    /// <summary>Checks every setting and decides where the sidecar is; names the first bad setting.</summary>
    internal SidecarEndpoint Validate()
    {
        if (SocketPath is not null && Address is not null)
        {
            throw new ArgumentException(
                $"{nameof(KuorumClientOptions)}: both {nameof(SocketPath)} and {nameof(Address)} are set; set only one of them.");
        }

        if (Address is not null && (!Address.IsAbsoluteUri || !IsHttp(Address)))
        {
            throw new ArgumentException(
                $"{nameof(KuorumClientOptions)}.{nameof(Address)} is '{Address}'; it must be an absolute http:// or https:// URI such as {DefaultAddress}.");
        }

        if (SocketPath is not null && string.IsNullOrWhiteSpace(SocketPath))
        {
            throw new ArgumentException($"{nameof(KuorumClientOptions)}.{nameof(SocketPath)} is empty; give the path of the agent's Unix socket or leave it null.");
        }

        if (MaxReadAttempts < 1)
        {
            throw new ArgumentException($"{nameof(KuorumClientOptions)}.{nameof(MaxReadAttempts)} is {MaxReadAttempts}; it must be 1 or more (1 disables retries).");
        }

        RequirePositive(RetryInitialDelay, nameof(RetryInitialDelay));
        RequirePositive(RetryMaxDelay, nameof(RetryMaxDelay));
        RequirePositive(AttemptTimeout, nameof(AttemptTimeout));
        if (RetryMaxDelay < RetryInitialDelay)
        {
            throw new ArgumentException(
                $"{nameof(KuorumClientOptions)}.{nameof(RetryMaxDelay)} ({RetryMaxDelay}) is shorter than {nameof(RetryInitialDelay)} ({RetryInitialDelay}).");
        }

        if (!Enum.IsDefined(DefaultReadConsistency))
        {
            throw new ArgumentException($"{nameof(KuorumClientOptions)}.{nameof(DefaultReadConsistency)} is {(int)DefaultReadConsistency}; it must be Linearizable, Lease or Stale.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));

        if (SocketPath is not null)
        {
            return SidecarEndpoint.ForSocket(SocketPath);
        }

        if (Address is not null)
        {
            return SidecarEndpoint.ForAddress(Address);
        }

        return File.Exists(DefaultSocketPath)
            ? SidecarEndpoint.ForSocket(DefaultSocketPath)
            : SidecarEndpoint.ForAddress(new Uri(DefaultAddress));
    }

    internal KuorumClientOptions Clone() => (KuorumClientOptions)MemberwiseClone();

    private static bool IsHttp(Uri uri) => uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps;

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(KuorumClientOptions)}.{name} is {value}; it must be positive.");
        }
    }
}
