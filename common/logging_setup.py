"""One logging set-up for every process of ours: one JSON object per line, never message text.

Each service's entry point calls ``configure_logging(<service>)`` once (the action server, the
sandbox, the desk, the web chat; the Rasa server keeps its own logging). Every record then
carries its time, level, logger, service and, while one is known, the conversation it belongs
to: ``conversation(<id>)`` sets that for the work done inside it (the action server per
request from the request's sender_id, the desk per conversation it handles).

What customers write never belongs in a log. Log calls pass ids, counts, statuses and error
types, not text; as a second line of defence, fields that carry text (``text``, ``body``,
``tracker``...) are dropped from every record whatever a caller passes, messages are cut at
MAX_MESSAGE_CHARS, and an exception keeps its traceback and type with its detail cut short,
since an HTTP error may carry a whole request body.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

# Names a caller might use in ``extra=`` for what a customer or agent wrote, or for a whole
# request that holds it.
TEXT_FIELDS = frozenset(
    {
        "text",
        "message_text",
        "user_message",
        "utterance",
        "body",
        "content",
        "payload",
        "tracker",
        "events",
        "transcript",
        "messages",
        "latest_message",
        "reply",
        "summary",
    }
)
MAX_MESSAGE_CHARS = 1000
# Libraries that log every URL they call, query string and all, at INFO.
QUIET_LOGGERS = ("httpx", "httpcore")
MAX_EXCEPTION_DETAIL_CHARS = 200
# What every LogRecord has anyway; anything else on a record came from ``extra=``.
# Set on a record once its message is cut to size; not written out.
CUT_MARK = "fincs_message_cut"
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    CUT_MARK,
    "message",
    "asctime",
    "conversation_id",
    "service",
    # uvicorn's copy of the message with terminal colours.
    "color_message",
}

_conversation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conversation_id", default=None
)


def current_conversation_id() -> str | None:
    return _conversation_id.get()


def set_conversation_id(conversation_id: str | None) -> None:
    """For a framework hook that runs before the handler in the same task (one per request)."""
    _conversation_id.set(conversation_id)


@contextlib.contextmanager
def conversation(conversation_id: str | None) -> Iterator[None]:
    """Records logged inside carry ``conversation_id``."""
    token = _conversation_id.set(conversation_id)
    try:
        yield
    finally:
        _conversation_id.reset(token)


class DropConversationText(logging.Filter):
    """Takes text fields off a record, cuts long messages, and stamps the conversation id."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        for name in TEXT_FIELDS & vars(record).keys():
            delattr(record, name)
        record.service = self.service
        record.conversation_id = _conversation_id.get()
        cut_long_message(record)
        return True


def cut_long_message(record: logging.LogRecord) -> None:
    """Formats the message into the record, cut to MAX_MESSAGE_CHARS with its length said.

    Once per record: a record may pass two cutters (a process whose logging was set up twice,
    or the channels' record factory and then a handler), and cutting again would report the
    cut message's length, not the original's.
    """
    if getattr(record, CUT_MARK, False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is the caller's bug; keep the template
        message = str(record.msg)
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{message[:MAX_MESSAGE_CHARS]}... ({len(message)} characters, cut)"
    record.msg, record.args = message, ()
    setattr(record, CUT_MARK, True)


def short_description(error: BaseException) -> str:
    """One exception as its type and a detail cut short."""
    detail = str(error)
    if len(detail) > MAX_EXCEPTION_DETAIL_CHARS:
        detail = f"{detail[:MAX_EXCEPTION_DETAIL_CHARS]}... ({len(detail)} characters)"
    return f"{type(error).__name__}: {detail}"


def describe_exception(
    error: BaseException, describe: Callable[[BaseException], str] = short_description
) -> str:
    """The traceback with each exception's type and a short detail, never its whole text."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(each.__traceback__))
        + describe(each)
        for each in reversed(chain)
    ]
    return "\n\nThe above exception led to:\n\n".join(parts)


class JsonLines(logging.Formatter):
    """One JSON object per record: ts, level, logger, service, conversation_id, msg, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "service": getattr(record, "service", None),
        }
        conversation_id = getattr(record, "conversation_id", None)
        if conversation_id is not None:
            line["conversation_id"] = conversation_id
        line["msg"] = record.getMessage()
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and name not in TEXT_FIELDS:
                line[name] = value if isinstance(value, str | int | float | bool) else repr(value)
        if record.exc_info and record.exc_info[1] is not None:
            line["exc"] = describe_exception(record.exc_info[1])
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure_logging(
    service: str, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Sends every logger of the process through one handler in the format above.

    Libraries that set up handlers of their own (uvicorn, Sanic) are folded in: their loggers
    lose their handlers and propagate to the root, so nothing is printed twice or unfiltered.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(DropConversationText(service))
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            logger.handlers.clear()
            logger.propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
