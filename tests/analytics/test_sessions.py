"""What a session's row says in the cases a supervisor could misread: free words the assistant
took anyway are no fallback, a handoff the desk never took is no escalation, an unanswered
rating question is no abandoned request, and each of the customer's messages gets what came of
it (for the failure clusters)."""

from __future__ import annotations

from rasa.shared.core.events import BotUttered

from analytics.ingest import catalogue_lines
from analytics.sessions import Session, sender_sessions
from tests.analytics.conversations import Conversation, at

LINES = catalogue_lines()


def sessions(conversation: Conversation) -> list[Session]:
    events = [
        {**event, "_key": f"key-{number}"} for number, event in enumerate(conversation.events)
    ]
    return sender_sessions(
        conversation.sender_id, events, LINES, now=at("2026-12-01 00:00"), idle_seconds=1800
    )


def test_a_forms_free_answer_not_understood_as_an_intent_is_no_fallback() -> None:
    talk = Conversation("customer:C00040", "2026-11-11 09:00")
    talk.user("file a claim", "insurance_file_claim").form(
        "insurance_file_claim_form", "claim_description"
    )
    talk.bot("utter_ask_claim_description")
    talk.user("a tree fell on the car", "nlu_fallback").action("insurance_file_claim_form")
    talk.user("zzz", "nlu_fallback").action("action_default_fallback").bot("utter_default")
    (session,) = sessions(talk)
    assert session.row["fallbacks"] == 1
    assert [m["outcome"] for m in session.messages] == ["understood", "understood", "fallback"]


def test_a_handoff_the_desk_never_took_is_no_escalation() -> None:
    talk = Conversation("anon-41", "2026-11-11 10:00")
    talk.user("I want a person", "request_human").action("action_request_human")
    talk.bot("utter_handoff_unreachable")
    (session,) = sessions(talk)
    assert not session.row["escalated"] and session.row["escalation_reason"] is None
    # What led the customer to ask for a person is among what the assistant failed to serve.
    assert [m["outcome"] for m in session.messages] == ["handoff"]


def test_an_unanswered_rating_question_is_no_abandoned_request() -> None:
    talk = Conversation("customer:C00042", "2026-11-11 11:00")
    talk.user("my balance", "bank_balance").resolved("bank:bank_balance")
    talk.action("action_ask_satisfaction").asked_to_rate()
    (session,) = sessions(talk)
    assert session.row["rating_asked"] and session.row["rating"] is None
    assert not session.row["abandoned"] and session.row["closed"]


def test_each_customer_message_says_what_came_of_it() -> None:
    talk = Conversation("customer:C00043", "2026-11-11 12:00", channel="socketio")
    talk.user("can you book me a flight", "out_of_scope").bot("utter_out_of_scope")
    talk.user("gibberish", "nlu_fallback").bot("utter_default")
    talk.user("move money to Wang", "bank_transfer").form("bank_transfer_form", "amount")
    talk.bot("utter_ask_bank_transfer_form_amount")
    talk.user('/inform{"amount": "100"}', "inform")
    talk.bot("utter_ask_bank_transfer_form_amount")
    (session,) = sessions(talk)
    assert session.row["abandoned_at"] == "bank_transfer_form:amount"
    assert session.row["line"] == "bank" and session.row["first_intent"] == "bank_transfer"
    # A button's payload is not the customer's words: it is left out.
    assert [(m["text"], m["outcome"], m["line"]) for m in session.messages] == [
        ("can you book me a flight", "out_of_scope", "general"),
        ("gibberish", "fallback", "bank"),
        ("move money to Wang", "abandoned", "bank"),
    ]
    assert {m["channel"] for m in session.messages} == {"socketio"}


def test_outcomes_carried_over_into_a_new_session_are_not_counted_again() -> None:
    talk = Conversation("customer:C00044", "2026-11-11 13:00")
    talk.user("my balance", "bank_balance").resolved("bank:bank_balance").rates(5)
    # Rasa's own session start carries every slot over to the new session.
    talk.session_start(at_time="2026-11-11 15:00")
    talk.slot("resolved_request", "bank:bank_balance").slot("rating", "5")
    talk.user("hi", "greet").bot("utter_greet")
    first, second = sessions(talk)
    assert first.row["resolved"] and first.row["rating"] == 5
    assert not second.row["resolved"] and second.row["rating"] is None


def test_a_chat_opened_without_a_word_is_no_session() -> None:
    talk = Conversation("customer:C00045", "2026-11-11 16:00")
    talk.bot("utter_greet", "Hello! How can I help?")
    talk.session_start(at_time="2026-11-12 09:00")
    talk.user("my balance", "bank_balance").resolved("bank:bank_balance")
    (session,) = sessions(talk)
    assert session.row["started_at"].date().isoformat() == "2026-11-12"


def test_a_question_with_buttons_left_unanswered_is_abandoned_unless_it_follows_a_resolution():
    vague = Conversation("customer:C00046", "2026-11-11 17:00")
    vague.user("what's my balance", "balance_unclear").action("action_disambiguate")
    vague.add(
        BotUttered(
            "Which one is it about?",
            data={"buttons": [{"title": "My wallet", "payload": "/payments_balance"}]},
            metadata={"utter_action": "utter_which_product"},
        ),
        1,
    )
    (left,) = sessions(vague)
    assert left.row["abandoned_at"] == "utter_which_product"
    assert left.row["clarifications"] == 1
    served = Conversation("customer:C00047", "2026-11-11 18:00")
    served.user("my balance", "bank_balance").resolved("bank:bank_balance")
    served.add(BotUttered("Anything else?", data={"buttons": [{"title": "No"}]}), 1)
    (done,) = sessions(served)
    assert not done.row["abandoned"]
