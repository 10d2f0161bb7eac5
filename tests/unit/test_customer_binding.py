"""A chat is bound to a customer only through a token the server signed."""

from __future__ import annotations

import pytest

from common.customer_binding import (
    InvalidSignInToken,
    bound_sender_id,
    customer_id_from_sender,
    issue_sign_in_token,
    verify_sign_in_token,
)

SECRET = b"test-secret"


def test_a_signed_token_names_its_customer():
    token = issue_sign_in_token("C00042", SECRET)

    assert verify_sign_in_token(token, SECRET) == "C00042"


def test_a_token_signed_with_another_secret_is_refused():
    token = issue_sign_in_token("C00042", b"someone-else")

    with pytest.raises(InvalidSignInToken):
        verify_sign_in_token(token, SECRET)


def test_a_token_whose_customer_was_changed_is_refused():
    genuine = issue_sign_in_token("C00042", SECRET)
    other_payload = issue_sign_in_token("C00001", b"attacker").split(".")[0]

    with pytest.raises(InvalidSignInToken):
        verify_sign_in_token(f"{other_payload}.{genuine.split('.')[1]}", SECRET)


def test_an_expired_token_is_refused():
    token = issue_sign_in_token("C00042", SECRET, seconds=-1)

    with pytest.raises(InvalidSignInToken):
        verify_sign_in_token(token, SECRET)


@pytest.mark.parametrize("token", ["", ".", "garbage", "a.b", "e30.deadbeef"])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidSignInToken):
        verify_sign_in_token(token, SECRET)


def test_only_bound_sender_ids_name_a_customer():
    assert customer_id_from_sender(bound_sender_id("C00042")) == "C00042"
    assert customer_id_from_sender("C00042") is None
    assert customer_id_from_sender("customer:") is None
    assert customer_id_from_sender(None) is None
