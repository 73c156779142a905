using CabinAgent.Actions;

namespace CabinAgent.Llm.Tests;

internal static class Shipped
{
    public static ActionCatalog Catalog() => ActionCatalog.Load(Path.Combine(AppContext.BaseDirectory, "config", "actions.json"));
}
