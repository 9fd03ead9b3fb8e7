using System.Globalization;
using Kuorum.Demo;

// kuorum-demo [run]                                    the narrated local cluster (make run)
// kuorum-demo app --name N --agent URL --http-port P  one replica of the demo application
if (args.Length > 0 && args[0] == "app")
{
    string Arg(string name) =>
        args.SkipWhile(a => a != "--" + name).Skip(1).FirstOrDefault() ?? throw new ArgumentException($"app needs --{name}");
    return await DemoApp.RunAsync(Arg("name"), Arg("agent"), int.Parse(Arg("http-port"), CultureInfo.InvariantCulture));
}

if (args.Length > 0 && args[0] != "run")
{
    Console.Error.WriteLine($"kuorum-demo: unknown command '{args[0]}'; use 'run' (default) or 'app --name N --agent URL --http-port P'");
    return 2;
}

return await Narrator.RunAsync();
