"""Searching everything a running assistant wrote (SQLite tracker store and event broker,
desk database, server logs) for values that must never be kept."""

from __future__ import annotations

from pathlib import Path

PLANTED_CARD_MESSAGE = "my card number is 4111 1111 1111 1111 and cvv 123"
# What must not be found anywhere: the number as typed, the digits alone, the CVV.
PLANTED_VALUES = ("4111111111111111", "4111 1111 1111 1111", "cvv 123")


def files_holding(data_dir: Path, values: tuple[str, ...] = PLANTED_VALUES) -> dict[str, list[str]]:
    """Each file under ``data_dir`` (databases with their journals, logs) that contains one of
    ``values``, in UTF-8 or in the UTF-16 a SQLite database may use."""
    found: dict[str, list[str]] = {}
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file():
            continue
        content = path.read_bytes()
        hits = [
            value
            for value in values
            if any(
                value.encode(encoding) in content
                for encoding in ("utf-8", "utf-16-le", "utf-16-be")
            )
            or value.encode().lower() in content.lower()
        ]
        if hits:
            found[str(path.relative_to(data_dir))] = hits
    return found
