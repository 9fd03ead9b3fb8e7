using Microsoft.Extensions.Logging;

namespace Kuorum.Client.Internal;

/// <summary>
/// The client's log messages, event ids 4100–4199. <c>LoggerMessage.Define</c> rather than the source generator:
/// the generator ships only with a direct reference to Microsoft.Extensions.Logging.Abstractions.
/// </summary>
internal static class ClientLog
{
    private static readonly Action<ILogger, string, string, TimeSpan, Exception?> _streamBroken =
        LoggerMessage.Define<string, string, TimeSpan>(
            LogLevel.Information,
            new EventId(4101, "StreamBroken"),
            "Kuorum {Stream} stream broke ({Reason}); reconnecting in {Delay}");

    private static readonly Action<ILogger, string, Exception?> _sidecarNotReady =
        LoggerMessage.Define<string>(
            LogLevel.Debug,
            new EventId(4102, "SidecarNotReady"),
            "Kuorum sidecar not ready yet: {Reason}");

    private static readonly Action<ILogger, long, string, Exception?> _leaseLost =
        LoggerMessage.Define<long, string>(
            LogLevel.Warning,
            new EventId(4103, "LeaseLost"),
            "Kuorum lease {LeaseId} lost: {Reason}");

    private static readonly Action<ILogger, long, string, Exception?> _keepAliveInterrupted =
        LoggerMessage.Define<long, string>(
            LogLevel.Debug,
            new EventId(4104, "KeepAliveInterrupted"),
            "Kuorum keep-alive stream of lease {LeaseId} interrupted ({Reason}); reopening");

    private static readonly Action<ILogger, string, Exception?> _releaseFailed =
        LoggerMessage.Define<string>(
            LogLevel.Warning,
            new EventId(4105, "ReleaseFailed"),
            "Kuorum could not release {What} while disposing it; the lease's TTL will end it");

    private static readonly Action<ILogger, string, Exception?> _callbackFailed =
        LoggerMessage.Define<string>(
            LogLevel.Error,
            new EventId(4106, "CallbackFailed"),
            "An application callback ({Callback}) threw; the client goes on");

    private static readonly Action<ILogger, long, string, string, Exception?> _unknownStrategy =
        LoggerMessage.Define<long, string, string>(
            LogLevel.Warning,
            new EventId(4107, "UnknownStrategy"),
            "Kuorum endpoint table {Version} names the strategy '{Strategy}', which this client does not know; using {Fallback}");

    private static readonly Action<ILogger, long, string, long, Exception?> _appAddressSkipped =
        LoggerMessage.Define<long, string, long>(
            LogLevel.Warning,
            new EventId(4108, "AppAddressSkipped"),
            "Kuorum member {MemberId} has the app address '{AppAddress}', which is not host:port or is already taken; endpoint table {Version} is used without it");

    private static readonly Action<ILogger, long, int, string, Exception?> _endpointsResolved =
        LoggerMessage.Define<long, int, string>(
            LogLevel.Debug,
            new EventId(4109, "EndpointsResolved"),
            "Kuorum endpoint table {Version}: {Count} app address(es), strategy {Strategy}");

    public static void UnknownStrategy(ILogger logger, string strategy, long version, string fallback) =>
        _unknownStrategy(logger, version, strategy, fallback, null);

    public static void AppAddressSkipped(ILogger logger, long memberId, string appAddress, long version) =>
        _appAddressSkipped(logger, memberId, appAddress, version, null);

    public static void EndpointsResolved(ILogger logger, long version, int count, string strategy) =>
        _endpointsResolved(logger, version, count, strategy, null);

    public static void StreamBroken(ILogger logger, string stream, string reason, TimeSpan delay, Exception? exception) =>
        _streamBroken(logger, stream, reason, delay, exception);

    public static void SidecarNotReady(ILogger logger, string reason) => _sidecarNotReady(logger, reason, null);

    public static void LeaseLost(ILogger logger, long leaseId, string reason) => _leaseLost(logger, leaseId, reason, null);

    public static void KeepAliveInterrupted(ILogger logger, long leaseId, string reason) =>
        _keepAliveInterrupted(logger, leaseId, reason, null);

    public static void ReleaseFailed(ILogger logger, string what, Exception exception) => _releaseFailed(logger, what, exception);

    public static void CallbackFailed(ILogger logger, string callback, Exception exception) =>
        _callbackFailed(logger, callback, exception);
}
