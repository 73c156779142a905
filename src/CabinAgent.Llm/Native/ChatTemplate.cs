using System.Text;

namespace CabinAgent.Llm.Native;

public sealed record ChatMessage(string Role, string Content);

/// <summary>Renders a conversation with a model's own chat template through <c>llama_chat_apply_template</c>.</summary>
public static unsafe class ChatTemplate
{
    /// <summary>
    /// Renders <paramref name="messages"/>; <paramref name="addAssistant"/> appends the opening of the
    /// assistant's turn. Throws when llama.cpp does not know the template.
    /// </summary>
    public static string Apply(string template, IReadOnlyList<ChatMessage> messages, bool addAssistant)
    {
        LlamaLibrary.EnsureInitialized();
        var strings = new List<byte[]> { Utf8.NulTerminated(template) };
        foreach (var m in messages)
        {
            strings.Add(Utf8.NulTerminated(m.Role));
            strings.Add(Utf8.NulTerminated(m.Content));
        }
        var handles = strings.Select(s => System.Runtime.InteropServices.GCHandle.Alloc(s, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
        try
        {
            var native = new NativeApi.llama_chat_message[messages.Count];
            for (var i = 0; i < messages.Count; i++)
            {
                native[i].role = (byte*)handles[1 + 2 * i].AddrOfPinnedObject();
                native[i].content = (byte*)handles[2 + 2 * i].AddrOfPinnedObject();
            }
            var tmpl = (byte*)handles[0].AddrOfPinnedObject();
            var capacity = 1024 + strings.Sum(s => s.Length) * 2;
            while (true)
            {
                var buf = new byte[capacity];
                int n;
                fixed (NativeApi.llama_chat_message* chat = native)
                fixed (byte* b = buf)
                    n = NativeApi.llama_chat_apply_template(tmpl, chat, (nuint)native.Length, addAssistant, b, capacity);
                if (n < 0) throw new LlamaException("llama.cpp does not support this model's chat template");
                if (n <= capacity) return Encoding.UTF8.GetString(buf, 0, n);
                capacity = n;
            }
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }
}
