namespace Kuorum.Client;

/// <summary>How a transaction compares a key's current state with a given value.</summary>
public enum CompareOperator
{
    /// <summary>Current equals the given value.</summary>
    Equal = 0,

    /// <summary>Current is greater than the given value.</summary>
    Greater = 1,

    /// <summary>Current is less than the given value.</summary>
    Less = 2,

    /// <summary>Current differs from the given value.</summary>
    NotEqual = 3,
}
