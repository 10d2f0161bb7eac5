// Mounts the rasa-webchat widget (it appends itself to the body) with the settings the
// server rendered into the page.
(function () {
  const settings = JSON.parse(document.getElementById("webchat-settings").textContent);
  window.WebChat.default(
    {
      socketUrl: settings.socketUrl,
      socketPath: settings.socketPath,
      embedded: true,
      title: "Customer service",
      subtitle: settings.customerName,
      inputTextFieldHint: "Type a message...",
      showMessageDate: true,
      // Sent, unseen, when a chat opens in a new session (not on a reload of this tab's chat):
      // the assistant answers with the questions the customer most likely came with.
      initPayload: "/chat_opened",
      // Per tab, so a shared computer does not show the last customer's chat.
      params: { storage: "session" },
    },
    null
  );

  // Signing out forgets the chat and its sign-in token in this tab too (Clear-Site-Data does
  // the same where the browser honours it).
  const signOut = document.querySelector('form[action="/sign-out"]');
  if (signOut) signOut.addEventListener("submit", () => window.sessionStorage.clear());

  // The sandbox's simulated phone: security codes the assistant asks for arrive here. Only the
  // local demo has one; elsewhere the codes go to the customer's real phone.
  const latest = document.getElementById("phone-latest");
  if (!latest) return;
  async function showPhone() {
    try {
      const reply = await fetch("/phone", { credentials: "same-origin" });
      const messages = (await reply.json()).messages || [];
      if (messages.length) latest.textContent = messages[0].body;
    } catch (error) {
      // The phone panel is a convenience; the chat works without it.
    }
  }
  showPhone();
  setInterval(showPhone, 3000);
})();
