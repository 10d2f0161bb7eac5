"""The two HTML pages. Every value from outside is escaped; the widget's settings travel as
JSON data, not as script."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from common.customer_binding import SIGN_IN_TOKEN_KEY

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/chat.css">
</head>
<body class="{page_class}">
{body}
</body>
</html>
"""


DEMO_NOTE = """<p class="note">Sandbox only: the synthetic customers C00001 to C01000 all sign in
with the demo passcode (<code>demo</code> unless WEBCHAT_DEMO_PASSCODE says otherwise).</p>"""
PHONE_STRIP = """<aside class="sandbox-phone" aria-live="polite">
<strong>Your phone (sandbox):</strong> <span id="phone-latest">no messages yet</span></aside>"""


def sign_in_page(error: str = "", customer_id: str = "", demo: bool = False) -> str:
    error_line = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""<main class="sign-in">
<h1>Customer service</h1>
<p>Sign in to chat about your accounts.</p>
{error_line}
<form method="post" action="/sign-in">
<label>Customer number <input name="customer" value="{escape(customer_id)}"
 placeholder="C00001" autocomplete="username" required></label>
<label>Passcode <input name="passcode" type="password" autocomplete="current-password"
 required></label>
<button type="submit">Sign in</button>
</form>
{DEMO_NOTE if demo else ""}
</main>"""
    return PAGE.format(title="Sign in", page_class="sign-in-page", body=body)


def chat_page(
    customer_id: str, name: str, rasa_url: str, sign_in_token: str, phone: bool = False
) -> str:
    widget_settings = {
        # rasa-webchat passes nothing but the URL to socket.io, so the token rides in its query
        # string; channels/socketio.py verifies it when the socket connects.
        "socketUrl": f"{rasa_url.rstrip('/')}/?{SIGN_IN_TOKEN_KEY}={quote(sign_in_token)}",
        "socketPath": "/socket.io/",
        "customerName": name,
    }
    # "<" escaped so that no value can close the script element.
    settings_json = json.dumps(widget_settings).replace("<", "\\u003c")
    body = f"""<header class="signed-in">
<span>Signed in as <strong id="customer-name">{escape(name)}</strong>
 ({escape(customer_id)})</span>
<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>
</header>
{PHONE_STRIP if phone else ""}
<script type="application/json" id="webchat-settings">{settings_json}</script>
<script src="/static/rasa-webchat.js"></script>
<script src="/static/chat.js"></script>"""
    return PAGE.format(title="Customer service chat", page_class="chat-page", body=body)
