"""What helps an agent take over: the summary, the readable profile, and agent assist."""

from __future__ import annotations

from typing import Any

from services.desk.assist import assistant_responses, candidates, rank, suggest, terms
from services.desk.profile_facts import profile_lines
from services.desk.schemas import HandoffIn
from services.desk.summary import summarise
from tests.desk.conftest import RunningDesk, handoff_request

PROFILE: dict[str, Any] = {
    "customer_id": "C00001",
    "name": "Li Wei",
    "segment": "premium",
    "products": ["wallet", "bank_account", "debit_card"],
    "account_locked": True,
    "cards": [{"last4": "4821", "status": "frozen", "kind": "debit"}],
    "policies": [{"policy_number": "POL0004201", "status": "active"}],
}


def test_the_summary_says_who_why_what_and_the_last_words() -> None:
    request = HandoffIn(
        **handoff_request(
            reason="repeated_fallback",
            reason_detail="Three misunderstandings in a row",
            profile=PROFILE,
            intents=[
                {"name": "security_account_locked", "description": "My account is locked"},
                {"name": "security_account_locked", "description": "My account is locked"},
                {"name": "bank_card_declined", "description": "Why was my card declined"},
            ],
            slots={"card_last4": "4821", "requested_slot": "x", "verification_token": "secret"},
        )
    )

    summary = summarise(request)

    assert summary.startswith("Li Wei (customer C00001), who holds wallet, bank account")
    assert "could not understand them: Three misunderstandings in a row." in summary
    assert "My account is locked; Why was my card declined" in summary
    assert summary.count("My account is locked") == 1
    assert "card last4 4821" in summary
    assert "secret" not in summary and "requested" not in summary
    assert summary.endswith("\u201csomeone took money from my card\u201d")
    assert 2 <= summary.count(". ") + 1 <= 4


def test_an_anonymous_summary_still_has_two_sentences() -> None:
    request = HandoffIn(
        conversation_id="web-123", skill="general", reason="customer_request", reason_detail=""
    )
    assert summarise(request) == (
        "An anonymous visitor (not signed in). Handed over because they asked for a person."
    )


def test_the_profile_reads_as_lines() -> None:
    lines = profile_lines(PROFILE)
    assert "Card ending 4821: frozen, kind debit" in lines
    assert "Policy POL0004201: active" in lines
    assert "Products: wallet, bank account, debit card" in lines
    assert "Account locked: yes" in lines


def test_responses_come_from_the_project_domain_with_placeholders_filled_or_left_out() -> None:
    responses = assistant_responses(None)
    names = {response.name for response in responses}
    assert "utter_default" in names and "utter_security_account_locked" in names
    assert not any(name.endswith("_item") for name in names)

    filled = candidates(responses, {"locked_at": "3 March", "reason": "a review"}, None)
    texts = [suggestion.text for suggestion in filled]
    assert any("locked since 3 March (a review)" in text for text in texts)
    assert not any("{" in text for text in texts)


def test_an_unlock_draft_brings_up_how_to_unlock() -> None:
    found = suggest(None, "how do I unlock my account", "", {"locked_at": "3 March"}, PROFILE)
    assert 1 <= len(found) <= 5
    assert "unlock" in found[0].text.lower()
    assert found[0].source.startswith("assistant response utter_")


def test_a_card_number_brings_up_the_customers_card() -> None:
    found = suggest(None, "card 4821", "", {}, PROFILE)
    assert found[0].text == "Card ending 4821: frozen, kind debit"
    assert found[0].source == "customer data"


def test_an_empty_draft_ranks_against_the_customers_last_message() -> None:
    slots = {"card_card_number_masked": "**** 4821", "card_status": "active"}
    found = suggest(None, "", "my card was declined at the shop", slots, PROFILE)
    assert found[0].source == "assistant response utter_bank_no_declines"
    assert "declined payments on your card **** 4821" in found[0].text


def test_stop_words_alone_suggest_nothing() -> None:
    assert terms("how do I") == []
    assert rank("how do I", candidates(assistant_responses(None), {}, PROFILE)) == []


async def test_the_console_api_gives_summary_profile_and_suggestions(desk: RunningDesk) -> None:
    lin = await desk.agent_at_console("agent")
    opened = await desk.open_handoff(profile=PROFILE, slots={"locked_at": "3 March"})
    base = f"/api/agent/handoffs/{opened['handoff_id']}"

    detail = (await lin.http.get(base)).json()
    assert "Report fraud or a scam" in detail["summary"]
    assert "someone took money from my card" in detail["summary"]
    assert "Card ending 4821: frozen, kind debit" in detail["profile_lines"]
    assert detail["profile"] == PROFILE

    unlock = (
        await lin.http.get(f"{base}/assist", params={"draft": "how do I unlock my account"})
    ).json()
    assert "unlock" in unlock["suggestions"][0]["text"].lower()
    card = (await lin.http.get(f"{base}/assist", params={"draft": "card 4821"})).json()
    assert card["suggestions"][0] == {
        "text": "Card ending 4821: frozen, kind debit",
        "source": "customer data",
    }
