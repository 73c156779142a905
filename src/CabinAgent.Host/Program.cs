using System.CommandLine;
using CabinAgent.Host.Commands;

// cabin-agent: the in-vehicle voice-command agent. Every verb shares one composition (Composition/AgentComposition.cs).
var root = new RootCommand("CabinAgent: in-vehicle voice commands → validated, safety-gated vehicle commands on MQTT")
{
    RunCommand.Create(),
    ReplayCommand.Create(),
    BenchCommands.Create(),
    SchemaCommand.Create(),
    IntentsCommands.Create(),
    ModelsCommand.Create(),
    SafetyCommands.Replay(),
    EvalCommands.Eval(),
    EvalCommands.Dataset(),
};
return await root.Parse(args).InvokeAsync();
