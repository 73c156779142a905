using System.CommandLine;
using CabinAgent.Actions;
using CabinAgent.Host.Composition;

namespace CabinAgent.Host.Commands;

/// <summary><c>cabin-agent schema</c>: the command JSON Schema generated from the catalog, for ECU teams.</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var catalogPath = new Option<string?>("--catalog") { Description = "Catalog file (default: the shipped config/actions.json)" };
        var command = new Command("schema", "Print the JSON Schema of a command, generated from the action catalog") { catalogPath };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(catalogPath) ?? new AgentOptions().ResolveConfigPath("actions.json");
            try
            {
                Console.WriteLine(CommandSchema.FromCatalog(ActionCatalog.Load(path)).ToJson());
                return CliSupport.ExitOk;
            }
            catch (CatalogException ex)
            {
                Console.Error.WriteLine($"schema: {ex.Message}");
                return CliSupport.ExitUsage;
            }
        });
        return command;
    }
}
