namespace Kuorum.Operator.Tests.Emulation;

/// <summary>An error the emulation answers with a Kubernetes Status body.</summary>
public sealed class EmulationException(int code, string reason, string message) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public static EmulationException NotFound(EmulatedResource r, string name) => new(404, "NotFound", $"{r.Plural} \"{name}\" not found");

    public static EmulationException AlreadyExists(EmulatedResource r, string name) => new(409, "AlreadyExists", $"{r.Plural} \"{name}\" already exists");

    public static EmulationException Conflict(EmulatedResource r, string name) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {r.Plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
}
