"""Agents' passwords: scrypt with a salt of each agent's own."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# The standard interactive-login cost: about 50 ms and 16 MiB per check.
SCRYPT_COST = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_password(password: str, salt: str) -> str:
    return hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **SCRYPT_COST).hex()


def password_matches(password: str, salt: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_password(password, salt), expected_hash)
