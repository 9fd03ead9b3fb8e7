namespace Kuorum.Simulation.Simulation;

/// <summary>A Raft safety property failed; the message says which and where.</summary>
public sealed class SafetyViolationException(string message) : Exception(message);
