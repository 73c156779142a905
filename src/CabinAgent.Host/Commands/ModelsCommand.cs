using System.CommandLine;

namespace CabinAgent.Host.Commands;

/// <summary><c>cabin-agent models …</c>: inspect, select, quantize and generate the models the tiers load.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var models = new Command("models", "Model files: info, select, quantize, train the cabin model, and tiny generated test models");
        foreach (var command in LlmCommands.Models().Append(TrainCommands.Train()).Concat(SpeechCommands.Models()))
            models.Subcommands.Add(command);
        return models;
    }
}
