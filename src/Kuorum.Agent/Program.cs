using System.Collections;
using Kuorum.Agent.Configuration;
using Kuorum.Agent.Hosting;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("kuorum-agent: the Kuorum Raft sidecar. Settings (flag, environment variable, meaning):");
    foreach (var (flag, env, help) in AgentOptions.Settings)
    {
        Console.WriteLine($"  --{flag,-28} {env,-34} {help}");
    }

    return 0;
}

AgentOptions options;
try
{
    var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
        .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
    options = AgentOptions.Parse(args, environment);
}
catch (OptionsException e)
{
    await Console.Error.WriteLineAsync($"kuorum-agent: {e.Message}");
    return 2;
}

return await AgentHost.RunAsync(options);
