using Kuorum.Operator.Crds;

namespace Kuorum.Operator;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "generate-crds")
        {
            return GenerateCrds(args.Skip(1).ToArray());
        }

        OperatorOptions options;
        try
        {
            options = OperatorOptions.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync("kuorum-operator: " + e.Message);
            return 2;
        }

        return await OperatorHost.RunAsync(options);
    }

    private static int GenerateCrds(string[] args)
    {
        var output = args.Length == 2 && args[0] == "--output" ? args[1] : null;
        if (output is null)
        {
            Console.Error.WriteLine("usage: Kuorum.Operator generate-crds --output <directory>");
            return 2;
        }

        Directory.CreateDirectory(output);
        var path = Path.Combine(output, CrdGenerator.FileName);
        File.WriteAllText(path, CrdGenerator.ForOperatorAssembly().BuildYaml());
        Console.WriteLine($"wrote {path}");
        return 0;
    }
}
