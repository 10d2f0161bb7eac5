"""Card and account numbers that look real: right length, valid Luhn check digit."""

from __future__ import annotations

import secrets


def luhn_complete(body: str) -> str:
    """Append the Luhn check digit to a string of digits."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return body + str((10 - total % 10) % 10)


def random_card_number(prefix: str = "621700") -> str:
    return luhn_complete(
        prefix + "".join(str(secrets.randbelow(10)) for _ in range(15 - len(prefix)))
    )
