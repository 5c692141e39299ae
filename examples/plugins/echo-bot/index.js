// channels: the handler runs inside this plugin's isolate under its own limits. `from` is stamped
// by the host: a message can never claim to come from someone else.
export async function onLoad() {
  await Warden.channels.subscribe("chat.message", async (msg) => {
    const text = String(msg.data?.text ?? "");
    await Warden.channels.publish("chat.reply", { to: msg.from, text: `[v${Warden.plugin.version}] you said "${text}" (${text.length} characters)` });
  });
}
