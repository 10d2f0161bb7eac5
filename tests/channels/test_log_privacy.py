"""A failed custom action must not put the conversation into the Rasa server's log."""

from __future__ import annotations

import io
import logging

from rasa.utils.endpoints import ClientResponseError

from channels.log_privacy import exception_text, keep_conversation_text_out
from common.logging_setup import MAX_MESSAGE_CHARS

CONVERSATION = '{"tracker": {"events": [{"event": "user", "text": "my secret words"}]}}' * 30000


def failing_action() -> None:
    try:
        raise ClientResponseError(500, "Internal Server Error", CONVERSATION)
    except ClientResponseError as error:
        raise RuntimeError("Failed to execute custom action 'action_x'") from error


def logged(record_maker) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.channels.log_privacy")
    logger.addHandler(handler)
    logger.propagate = False
    factory = logging.getLogRecordFactory()

    def keeping_text_out(*args, **kwargs):
        record = factory(*args, **kwargs)
        keep_conversation_text_out(record)
        return record

    logging.setLogRecordFactory(keeping_text_out)
    try:
        record_maker(logger)
    finally:
        logging.setLogRecordFactory(factory)
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_failed_action_is_logged_with_its_traceback_but_not_the_tracker():
    def log(logger: logging.Logger) -> None:
        try:
            failing_action()
        except RuntimeError:
            logger.exception("Encountered an exception while running action 'action_x'.")

    output = logged(log)

    assert "my secret words" not in output
    assert len(output) < 5000
    assert "ClientResponseError: 500, Internal Server Error (body left out)" in output
    assert "RuntimeError: Failed to execute custom action 'action_x'" in output
    assert "in failing_action" in output


def test_an_over_long_message_is_cut():
    output = logged(lambda logger: logger.error("text=%s", "y" * 50000))

    assert len(output) < MAX_MESSAGE_CHARS + 100
    assert "50005 characters, cut" in output


def test_exception_text_keeps_short_details():
    assert exception_text(ValueError("short")).endswith("ValueError: short")
