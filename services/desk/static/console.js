// The agents' console: lists, one open conversation, live updates and agent assist.
// Everything from the server is put on the page with textContent, never as HTML.
"use strict";

(() => {
  const ASSIST_DELAY_MS = 300;
  const LIST_REFRESH_DELAY_MS = 150;
  const PING_EVERY_MS = 25000;
  const MAX_RETRY_MS = 10000;
  const REASONS = {
    customer_request: "asked for a person",
    repeated_fallback: "not understood",
    policy: "policy",
    backend_outage: "back end down",
  };
  const AUTHORS = { customer: "Customer", bot: "Assistant", system: "System" };

  const state = {
    agentName: document.body.dataset.agentName || "",
    openId: null,
    detail: null,
    lists: null,
    listsFetchedAt: 0,
    retryMs: 1000,
    assistTimer: null,
    assistRequest: 0,
    listTimer: null,
  };
  const $ = (id) => document.getElementById(id);

  // --- small helpers ---------------------------------------------------------------------

  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = options.text;
    if (options.testid) node.dataset.testid = options.testid;
    for (const [name, value] of Object.entries(options.attrs || {})) node.setAttribute(name, value);
    if (options.onClick) node.addEventListener("click", options.onClick);
    for (const child of children) if (child) node.append(child);
    return node;
  }

  async function api(path, options = {}) {
    const response = await fetch(path, {
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      ...options,
    });
    if (response.status === 401) {
      window.location.assign("/console");
      throw new Error("signed out");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((body.error && body.error.message) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function waiting(seconds) {
    const minutes = Math.floor(seconds / 60);
    if (minutes < 1) return `${seconds} s`;
    return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function localTime(iso) {
    if (!iso) return "-";
    return new Date(iso).toLocaleString([], {
      weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit",
    });
  }

  function customerLabel(item) {
    if (item.customer_name) return `${item.customer_name} (${item.customer_id || "anonymous"})`;
    return item.customer_id || "Anonymous visitor";
  }

  function flash(text) {
    const node = $("flash");
    node.textContent = text;
    node.hidden = !text;
  }

  function showError(error) {
    flash(`Something went wrong: ${error.message}`);
  }

  // --- the three lists ---------------------------------------------------------------------

  function listItem(item, kind) {
    const testids = { queue: "queue-item", mine: "my-conversation", callback: "callback-item" };
    const elapsed = Math.floor((Date.now() - state.listsFetchedAt) / 1000);
    const meta = [item.skill, REASONS[item.reason] || item.reason];
    if (kind === "queue") meta.push(`#${item.position}`, `waiting ${waiting(item.waiting_seconds + elapsed)}`);
    if (kind === "callback") meta.push(`call back by ${localTime(item.callback_due_at)}`);
    const top = el("div", { className: "item-top" }, el("strong", { text: customerLabel(item) }));
    if (!item.customer_present) {
      top.append(el("span", { className: "badge", text: "customer left", testid: "customer-left-badge" }));
    }
    const li = el("li", {
      className: item.handoff_id === state.openId ? "item open" : "item",
      testid: testids[kind],
      attrs: { "data-handoff-id": item.handoff_id },
      onClick: () => openConversation(item.handoff_id).catch(showError),
    }, top, el("div", { className: "meta", text: meta.join(" · ") }));
    if (item.reason_detail) li.append(el("div", { className: "detail", text: item.reason_detail }));
    if (item.last_message) li.append(el("div", { className: "last", text: `“${item.last_message}”` }));
    if (kind === "queue") {
      li.append(el("button", {
        className: "claim", text: "Claim", testid: "claim-button", attrs: { type: "button" },
        onClick: (event) => { event.stopPropagation(); claim(item.handoff_id); },
      }));
    }
    return li;
  }

  function fillList(listId, items, kind, emptyText) {
    const list = $(listId);
    list.replaceChildren(...(items.length
      ? items.map((item) => listItem(item, kind))
      : [el("li", { className: "empty", text: emptyText })]));
  }

  function drawLists() {
    if (!state.lists) return;
    fillList("queue-list", state.lists.queue, "queue", "Nobody is waiting.");
    fillList("mine-list", state.lists.mine, "mine", "None yet.");
    fillList("callback-list", state.lists.callbacks, "callback", "No callbacks due.");
  }

  async function refreshLists() {
    state.lists = await api("/api/agent/queue");
    state.listsFetchedAt = Date.now();
    drawLists();
  }

  function refreshListsSoon() {
    clearTimeout(state.listTimer);
    state.listTimer = setTimeout(() => refreshLists().catch(() => {}), LIST_REFRESH_DELAY_MS);
  }

  // Server-drawn lists work before the first fetch; make their items clickable too.
  function wireServerDrawnLists() {
    document.querySelectorAll(".lists li.item").forEach((li) => {
      const id = li.dataset.handoffId;
      li.addEventListener("click", () => openConversation(id).catch(showError));
      const button = li.querySelector("button.claim");
      if (button) button.addEventListener("click", (event) => { event.stopPropagation(); claim(id); });
    });
  }

  // --- one conversation ----------------------------------------------------------------------

  function transcriptLine(line) {
    const author = line.author === "agent" ? (line.agent_name || "Agent") : (AUTHORS[line.author] || line.author);
    const time = new Date(line.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return el("li", {
      className: `line ${line.author}`,
      testid: "transcript-line",
      attrs: { "data-line-id": String(line.id), "data-author": line.author },
    },
    el("span", { className: "author", text: author }),
    el("time", { text: time, attrs: { datetime: line.at } }),
    el("p", { className: "text", text: line.text }));
  }

  function appendLine(line) {
    const transcript = $("transcript");
    if (transcript.querySelector(`[data-line-id="${CSS.escape(String(line.id))}"]`)) return;
    const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    transcript.append(transcriptLine(line));
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  }

  function drawDetail(detail) {
    $("conversation-title").textContent = customerLabel(detail);
    const meta = [detail.skill, detail.status];
    if (detail.position) meta.push(`#${detail.position} in the queue`);
    if (detail.agent_name && !detail.mine) meta.push(`with ${detail.agent_name}`);
    if (!detail.customer_present) meta.push("the customer left the chat");
    if (detail.callback_due_at) meta.push(`call back by ${localTime(detail.callback_due_at)}`);
    $("conversation-meta").textContent = meta.join(" · ");
    $("summary").textContent = detail.summary;

    $("profile").replaceChildren(...(detail.profile_lines.length
      ? detail.profile_lines.map((line) => el("li", { text: line }))
      : [el("li", { className: "empty", text: "No profile (not signed in, or the back end was down)." })]));
    $("profile-raw").textContent = detail.profile ? JSON.stringify(detail.profile, null, 2) : "";

    $("intents").replaceChildren(...detail.intents.map((intent) => el("li", {
      text: `${intent.description || intent.name}` +
        (intent.confidence != null ? ` (${Math.round(intent.confidence * 100)}%)` : ""),
    })));
    const slots = Object.entries(detail.slots || {}).filter(([, value]) => value !== null && value !== "");
    $("slots").replaceChildren(...slots.flatMap(([name, value]) => [
      el("dt", { text: name }),
      el("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }),
    ]));

    $("transcript").replaceChildren(...detail.transcript.map(transcriptLine));
    $("transcript").scrollTop = $("transcript").scrollHeight;

    const canWrite = detail.mine;
    $("message").disabled = !canWrite;
    $("send").disabled = !canWrite;
    $("message").placeholder = canWrite ? "Write to the customer…" : "Claim the conversation to write.";
    const resolvable = detail.mine || detail.status === "ticket";
    $("resolve").hidden = !resolvable;
    $("resolve").textContent = detail.status === "ticket" ? "Callback done" : "Resolve";
  }

  async function openConversation(handoffId) {
    if (handoffId !== state.openId) $("message").value = ""; // a draft belongs to its chat
    state.openId = handoffId;
    flash("");
    try {
      state.detail = await api(`/api/agent/handoffs/${encodeURIComponent(handoffId)}`);
    } catch (error) {
      if (error.status === 404) {
        closeConversation("That conversation is no longer yours to see: someone else took it.");
        return;
      }
      throw error;
    }
    $("placeholder").hidden = true;
    $("conversation").hidden = false;
    drawDetail(state.detail);
    drawLists();
    requestAssist($("message").value);
  }

  function closeConversation(message) {
    state.openId = null;
    state.detail = null;
    $("conversation").hidden = true;
    $("placeholder").hidden = false;
    $("placeholder").textContent = message || "Pick a conversation on the left.";
    drawLists();
  }

  async function reloadDetail() {
    if (state.openId) await openConversation(state.openId);
  }

  // --- what the agent does -------------------------------------------------------------------

  async function claim(handoffId) {
    try {
      await api(`/api/agent/handoffs/${encodeURIComponent(handoffId)}/claim`, { method: "POST" });
      await refreshLists();
      await openConversation(handoffId);
    } catch (error) {
      await refreshLists();
      if (error.status === 409) {
        closeConversation("Someone else claimed that conversation first.");
      } else {
        flash(`Could not claim: ${error.message}`);
      }
    }
  }

  async function send(event) {
    event.preventDefault();
    const box = $("message");
    const text = box.value.trim();
    if (!text || !state.openId) return;
    $("send").disabled = true;
    try {
      const line = await api(`/api/agent/handoffs/${encodeURIComponent(state.openId)}/messages`, {
        method: "POST", body: JSON.stringify({ text }),
      });
      box.value = "";
      appendLine(line);
      requestAssist("");
    } catch (error) {
      flash(`Not sent: ${error.message}`);
    } finally {
      $("send").disabled = !(state.detail && state.detail.mine);
    }
  }

  async function resolve() {
    if (!state.openId) return;
    try {
      await api(`/api/agent/handoffs/${encodeURIComponent(state.openId)}/resolve`, { method: "POST" });
      closeConversation("Resolved: the assistant has the conversation again.");
      await refreshLists();
    } catch (error) {
      flash(`Could not resolve: ${error.message}`);
    }
  }

  // --- agent assist ------------------------------------------------------------------------

  function requestAssist(draft) {
    clearTimeout(state.assistTimer);
    state.assistTimer = setTimeout(() => loadAssist(draft), ASSIST_DELAY_MS);
  }

  async function loadAssist(draft) {
    if (!state.openId) return;
    const request = ++state.assistRequest;
    const query = new URLSearchParams({ draft });
    let body;
    try {
      body = await api(`/api/agent/handoffs/${encodeURIComponent(state.openId)}/assist?${query}`);
    } catch {
      return;
    }
    if (request !== state.assistRequest) return; // a newer draft's answer is on its way
    $("suggestions").replaceChildren(...body.suggestions.map((suggestion) => el("li", {},
      el("button", {
        className: "suggestion", testid: "assist-suggestion", attrs: { type: "button", title: suggestion.source },
        onClick: () => { $("message").value = suggestion.text; $("message").focus(); },
      }, el("span", { className: "text", text: suggestion.text }),
      el("small", { className: "source", text: suggestion.source })))));
  }

  // --- live updates ------------------------------------------------------------------------

  function onEvent(event) {
    if (event.type === "message") {
      if (event.handoff_id === state.openId) appendLine(event.message);
      refreshListsSoon();
    } else if (event.type === "handoff") {
      refreshListsSoon();
      if (event.handoff_id === state.openId) {
        if (event.change === "claimed" && event.agent_name !== state.agentName) {
          closeConversation(`${event.agent_name} claimed that conversation.`);
        } else {
          reloadDetail().catch(() => {});
        }
      }
    } else {
      refreshLists().then(reloadDetail).catch(() => {});
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}/console/ws`);
    let ping = null;
    socket.addEventListener("open", () => {
      state.retryMs = 1000;
      $("connection").textContent = "live";
      $("connection").className = "connection live";
      ping = setInterval(() => socket.send("ping"), PING_EVERY_MS);
      // Whatever happened while the socket was down.
      refreshLists().then(reloadDetail).catch(() => {});
    });
    socket.addEventListener("message", (message) => onEvent(JSON.parse(message.data)));
    socket.addEventListener("close", () => {
      clearInterval(ping);
      $("connection").textContent = "reconnecting…";
      $("connection").className = "connection down";
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, MAX_RETRY_MS);
    });
  }

  // --- start ---------------------------------------------------------------------------------

  $("composer").addEventListener("submit", send);
  $("message").addEventListener("input", () => requestAssist($("message").value));
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  });
  $("resolve").addEventListener("click", resolve);
  wireServerDrawnLists();
  setInterval(drawLists, 15000); // waiting times move on
  connect();
})();
