namespace Kuorum.Operator.Resources;

/// <summary>A CEL rule (<c>x-kubernetes-validations</c>) the API server checks on the annotated object or field.</summary>
/// <param name="rule">The CEL expression; <c>self</c> is the annotated value, <c>oldSelf</c> its previous value.</param>
/// <param name="message">What the user sees when the rule fails: what is wrong and what is allowed.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    /// <summary>The CEL expression.</summary>
    public string Rule { get; } = rule;

    /// <summary>The message shown when the rule fails.</summary>
    public string Message { get; } = message;

    /// <summary>The field path the failure is reported at, relative to the annotated object (for example <c>.electionTimeout</c>).</summary>
    public string? FieldPath { get; init; }
}

/// <summary>The schema default of a field, as JSON (<c>"100ms"</c>, <c>3</c>, <c>{}</c>).</summary>
/// <param name="json">The default value written as JSON.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaDefaultAttribute(string json) : Attribute
{
    /// <summary>The default value as JSON.</summary>
    public string Json { get; } = json;
}

/// <summary>A string field that must match a pattern (Kubernetes schema <c>pattern</c>).</summary>
/// <param name="pattern">An ECMA-262 regular expression.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaPatternAttribute(string pattern) : Attribute
{
    /// <summary>The regular expression.</summary>
    public string Pattern { get; } = pattern;
}

/// <summary>A string field restricted to the listed values (schema <c>enum</c>).</summary>
/// <param name="values">The allowed values.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaEnumAttribute(params string[] values) : Attribute
{
    /// <summary>The allowed values.</summary>
    public IReadOnlyList<string> Values { get; } = values;
}

/// <summary>Inclusive numeric bounds of a field (schema <c>minimum</c>/<c>maximum</c>).</summary>
/// <param name="minimum">The smallest allowed value.</param>
/// <param name="maximum">The largest allowed value.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRangeAttribute(long minimum, long maximum) : Attribute
{
    /// <summary>The smallest allowed value.</summary>
    public long Minimum { get; } = minimum;

    /// <summary>The largest allowed value.</summary>
    public long Maximum { get; } = maximum;
}

/// <summary>A field the schema requires.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRequiredAttribute : Attribute;

/// <summary>A list whose items are keyed by a field (<c>x-kubernetes-list-type: map</c>).</summary>
/// <param name="key">The item field that identifies an item.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListMapKeyAttribute(string key) : Attribute
{
    /// <summary>The key field.</summary>
    public string Key { get; } = key;
}

/// <summary>The longest allowed string (schema <c>maxLength</c>); also bounds the cost of CEL rules on the field.</summary>
/// <param name="length">The largest allowed length.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaMaxLengthAttribute(long length) : Attribute
{
    /// <summary>The largest allowed length.</summary>
    public long Length { get; } = length;
}
