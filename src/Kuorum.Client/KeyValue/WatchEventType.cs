namespace Kuorum.Client;

/// <summary>What happened to a key.</summary>
public enum WatchEventType
{
    /// <summary>The key was created or its value replaced.</summary>
    Put = 0,

    /// <summary>The key was deleted (explicitly or with its lease).</summary>
    Delete = 1,
}
