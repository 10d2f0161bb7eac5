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
      // Per tab, so a shared computer does not show the last customer's chat.
      params: { storage: "session" },
    },
    null
  );
})();
