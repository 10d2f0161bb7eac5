"""The console's two HTML pages. Every value from outside is escaped; the script renders the
rest from the JSON API with textContent only."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

REASONS = {
    "customer_request": "asked for a person",
    "repeated_fallback": "not understood",
    "policy": "policy",
    "backend_outage": "back end down",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/console/static/console.css">
</head>
<body class="{page_class}"{body_data}>
{body}
</body>
</html>
"""


DEMO_NOTE = """<p class="note">Sandbox only: the demo agents <code>agent</code> (Lin, every queue)
and <code>cards</code> (Zhou, bank and payments), and the demo supervisor <code>lead</code>
(Chen, the service's figures) sign in with the demo password.</p>"""
# Where a sign-in may lead: the desk's own pages only, never a URL from the form.
PAGES_AFTER_SIGN_IN = ("/console", "/console/supervisor")


def page_after_sign_in(asked: str) -> str:
    return asked if asked in PAGES_AFTER_SIGN_IN else PAGES_AFTER_SIGN_IN[0]


def login_page(
    error: str = "", username: str = "", demo_agents: bool = False, next_page: str = "/console"
) -> str:
    error_line = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""<main class="login">
<h1>Agent desk</h1>
{error_line}
<form method="post" action="/console/login">
<input type="hidden" name="next" value="{escape(page_after_sign_in(next_page))}">
<label>Username <input name="username" value="{escape(username)}" autocomplete="username"
 data-testid="login-username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
 data-testid="login-password" required></label>
<button type="submit" data-testid="login-submit">Sign in</button>
</form>
{DEMO_NOTE if demo_agents else ""}
</main>"""
    return PAGE.format(
        title="Agent desk: sign in", page_class="login-page", body_data="", body=body
    )


def refusal_page(message: str) -> str:
    """What a signed-in agent sees on a page their role does not open."""
    body = f"""<main class="login">
<h1>Agent desk</h1>
<p class="error" role="alert" data-testid="refusal">{escape(message)}</p>
<p><a href="/console">Back to the console</a></p>
</main>"""
    return PAGE.format(title="Agent desk", page_class="login-page", body_data="", body=body)


def customer_label(item: dict[str, Any]) -> str:
    if item["customer_name"]:
        return f"{item['customer_name']} ({item['customer_id'] or 'anonymous'})"
    return item["customer_id"] or "Anonymous visitor"


def waiting(seconds: int) -> str:
    minutes = seconds // 60
    if minutes < 1:
        return f"{seconds} s"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def local_time(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%a %d %b %H:%M") if iso else "-"


def list_item(item: dict[str, Any], kind: str) -> str:
    """One conversation in a list; console.js draws the same markup on every update."""
    badge = (
        '<span class="badge" data-testid="customer-left-badge">customer left</span>'
        if not item["customer_present"]
        else ""
    )
    meta = [item["skill"], REASONS.get(item["reason"], item["reason"])]
    if kind == "queue":
        meta += [f"#{item['position']}", f"waiting {waiting(item['waiting_seconds'])}"]
    if kind == "callback":
        meta.append(f"call back by {local_time(item['callback_due_at'])}")
    parts = [
        f'<div class="item-top"><strong>{escape(customer_label(item))}</strong>{badge}</div>',
        f'<div class="meta">{escape(" · ".join(meta))}</div>',
    ]
    if item["reason_detail"]:
        parts.append(f'<div class="detail">{escape(item["reason_detail"])}</div>')
    if item["last_message"]:
        parts.append(f'<div class="last">\u201c{escape(item["last_message"])}\u201d</div>')
    if kind == "queue":
        parts.append(
            '<button type="button" class="claim" data-testid="claim-button">Claim</button>'
        )
    testid = {"queue": "queue-item", "mine": "my-conversation", "callback": "callback-item"}
    return (
        f'<li class="item" data-testid="{testid[kind]}" '
        f'data-handoff-id="{escape(item["handoff_id"])}">{"".join(parts)}</li>'
    )


def item_list(items: list[dict[str, Any]], kind: str, empty: str) -> str:
    if not items:
        return f'<li class="empty">{escape(empty)}</li>'
    return "\n".join(list_item(item, kind) for item in items)


FIGURES_LINK = '<a href="/console/supervisor" data-testid="figures-link">Service figures</a>'


def console_page(overview: dict[str, Any]) -> str:
    agent = overview["agent"]
    skills = f" <small>({escape(', '.join(agent['skills']))})</small>" if agent["skills"] else ""
    body = f"""<header class="top">
<h1>Agent desk</h1>
<span class="who">{escape(agent["display_name"])}{skills}</span>
{FIGURES_LINK if agent["supervisor"] else ""}
<span class="connection" id="connection" data-testid="connection">connecting…</span>
<form method="post" action="/console/logout"><button type="submit">Sign out</button></form>
</header>
<p class="flash" id="flash" role="status" hidden></p>
<main class="console">
<nav class="lists">
<section class="area" data-testid="queue"><h2>Queue</h2>
<ul id="queue-list">{item_list(overview["queue"], "queue", "Nobody is waiting.")}</ul></section>
<section class="area" data-testid="my-conversations"><h2>My conversations</h2>
<ul id="mine-list">{item_list(overview["mine"], "mine", "None yet.")}</ul></section>
<section class="area" data-testid="callbacks"><h2>Callbacks</h2>
<ul id="callback-list">{item_list(overview["callbacks"], "callback", "No callbacks due.")}</ul>
</section>
</nav>
<section class="conversation" id="conversation" hidden>
<header class="conversation-head">
<div><h2 id="conversation-title"></h2><p class="meta" id="conversation-meta"></p></div>
<button type="button" id="resolve" data-testid="resolve-button">Resolve</button>
</header>
<div class="context">
<section><h3>Summary</h3><p id="summary" data-testid="summary"></p></section>
<section><h3>Customer</h3><ul id="profile" data-testid="profile"></ul>
<details><summary>Raw profile</summary><pre id="profile-raw"></pre></details></section>
<section><h3>Detected intents</h3><ul id="intents" data-testid="intents"></ul>
<h3>Slots</h3><dl id="slots" data-testid="slots"></dl></section>
</div>
<ol class="transcript" id="transcript" data-testid="conversation-transcript"></ol>
<form class="composer" id="composer">
<textarea id="message" data-testid="message-input" maxlength="2000" rows="3"
 placeholder="Write to the customer…"></textarea>
<button type="submit" id="send" data-testid="send-button">Send</button>
</form>
<section class="assist"><h3>Suggestions</h3><ul id="suggestions"></ul></section>
</section>
<p class="placeholder" id="placeholder">Pick a conversation on the left.</p>
</main>
<script src="/console/static/console.js"></script>"""
    return PAGE.format(
        title="Agent desk",
        page_class="console-page",
        body_data=f' data-agent-name="{escape(agent["display_name"])}"',
        body=body,
    )
