"""Agent messages keep only http(s) links."""

from __future__ import annotations

import pytest

from channels.handoff_relay import only_web_links, relayed_payload, sent_by_the_desk


@pytest.mark.parametrize(
    "text, shown",
    [
        ("see [your card](javascript:alert(document.cookie))", "see your card"),
        ("[x](JaVa\tScRiPt:alert(1))", "[x](JaVa\tScRiPt:alert(1))"),
        ("[x](jav&#x61;script:alert(1))", "x"),
        ("![pic](data:image/svg+xml;base64,PHN2Zz4=)", "pic"),
        ("[x](<javascript:alert(1)>)", "x"),
        ("[x](/relative/path)", "x"),
        ("[ref]: javascript:alert(1)\nsee [it][ref]", "\nsee [it][ref]"),
        ("<a href='javascript:x'>click</a> <img src=x onerror=alert(1)>", "click "),
        ("<script>alert(1)</script>", "alert(1)"),
    ],
)
def test_links_that_are_not_http_are_reduced_to_their_text(text, shown):
    assert only_web_links(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "see [our fees](https://bank.example.com/fees) and http://bank.example.com",
        "[ref]: https://bank.example.com\nsee [it][ref]",
        "1 < 2 and 3 > 2",
        "I've frozen card **ending 4821**.",
    ],
)
def test_web_links_and_ordinary_text_survive(text):
    assert only_web_links(text) == text


def test_the_relayed_payload_is_cleaned():
    payload = relayed_payload(
        {
            "conversation_id": "customer:C1",
            "message_id": "m1",
            "kind": "agent",
            "agent_name": "Dana",
            "text": "[login](javascript:steal())",
        }
    )

    assert payload is not None and payload["text"] == "login"


SENT = {
    "conversation_id": "customer:C1",
    "kind": "agent",
    "agent_name": "Dana",
    "text": "Your card is safe.",
}


def relayed(**changes: str) -> dict:
    payload = relayed_payload({"message_id": "desk-1", **SENT, **changes})
    assert payload is not None
    return payload


@pytest.mark.parametrize(
    "forged",
    [
        {"text": "Click [here](https://evil.example) to verify your card"},
        {"agent_name": "Someone else"},
        {"conversation_id": "customer:C2"},
        {"kind": "desk", "agent_name": None},
    ],
    ids=["other words", "another agent", "another customer", "posing as a notice"],
)
def test_a_message_the_desk_did_not_send_exactly_is_refused(forged):
    assert sent_by_the_desk(SENT, relayed())
    assert not sent_by_the_desk(SENT, relayed(**forged))
    assert not sent_by_the_desk(None, relayed())
