"""Keeps conversation text out of the Rasa server's logs.

When a custom action fails, rasa-sdk answers 500 with the whole request, that is the tracker
with every message, and Rasa logs the error with that body in its traceback
(``ClientResponseError: 500, ..., body='...'``, from rasa/core/processor.py): the 2 MB log
line of issue 14. Installed when the Rasa server builds the customer channels, every
log record made in the process is cut down: exceptions keep their traceback and type but
lose the body and long details, and over-long messages are cut.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.utils.endpoints import ClientResponseError

from common.logging_setup import cut_long_message, describe_exception, short_description

_MARK = "_conversation_text_kept_out"


def describe(error: BaseException) -> str:
    """One line naming the error, without the bodies or long texts it may carry."""
    if isinstance(error, ClientResponseError):
        return f"{type(error).__name__}: {error.status}, {error.message} (body left out)"
    return short_description(error)


def exception_text(error: BaseException) -> str:
    return describe_exception(error, describe)


def keep_conversation_text_out(record: logging.LogRecord) -> None:
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = exception_text(record.exc_info[1])
        record.exc_info = None
    cut_long_message(record)


def install_log_privacy() -> None:
    """Wraps the process's log record factory, once: applies to every logger and handler,
    including those configured after the channels are loaded."""
    current = logging.getLogRecordFactory()
    if getattr(current, _MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        keep_conversation_text_out(record)
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)
