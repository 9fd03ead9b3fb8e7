namespace Kuorum.Client.Internal;

/// <summary>Why the reflection-based JSON overloads are not trimming or AOT safe.</summary>
internal static class JsonReflection
{
    public const string UnreferencedCodeMessage =
        "JSON serialization by reflection may need members that trimming removes; use the JsonTypeInfo<T> overload.";

    public const string DynamicCodeMessage =
        "JSON serialization by reflection may generate code at run time; use the JsonTypeInfo<T> overload.";
}
