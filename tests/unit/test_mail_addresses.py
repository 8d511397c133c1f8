"""Reply addresses: every account id that fits survives the trip through any mail system."""

import re
from email.headerregistry import Address

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.mail.addresses import (
    MAX_LOCAL_PART,
    account_from_address,
    parse_reply_token,
    reply_address,
    reply_token,
)

ACCOUNT_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}", fullmatch=True)
SHORT_ACCOUNT_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,25}", fullmatch=True)
DOMAIN = "billing.example.com"


def carries(account_id: str) -> str | None:
    try:
        return reply_address(account_id, DOMAIN)
    except InvalidInput:
        return None


@given(ACCOUNT_IDS)
def test_an_address_gives_back_exactly_its_account_whatever_the_case(account_id):
    address = carries(account_id)
    assume(address is not None)

    assert account_from_address(address) == account_id
    assert account_from_address(address.upper()) == account_id
    assert account_from_address(f'"Receivables" <{address}>') == account_id


@given(ACCOUNT_IDS)
def test_an_address_is_a_valid_email_address_within_the_local_part_limit(account_id):
    address = carries(account_id)
    assume(address is not None)

    local_part = address.partition("@")[0]
    assert len(local_part) <= MAX_LOCAL_PART
    assert re.fullmatch(r"ar\+[a-z0-9_-]+\.[a-z2-7]{8}", local_part)
    assert Address(addr_spec=address).domain == DOMAIN


@given(SHORT_ACCOUNT_IDS)
def test_every_id_of_up_to_26_characters_fits_in_an_address(account_id):
    assert carries(account_id) is not None


def test_ids_in_one_case_fit_up_to_52_characters():
    assert account_from_address(reply_address("CUST-" + "7" * 47, DOMAIN)) == "CUST-" + "7" * 47


def test_ids_of_the_usual_shapes_read_plainly_in_the_address():
    assert reply_address("CUST-0042", DOMAIN).startswith("ar+cust-0042.")
    assert reply_address("acme", DOMAIN).startswith("ar+acme.")
    uuid = "123e4567-e89b-12d3-a456-426614174000"
    assert reply_address(uuid, DOMAIN).startswith(f"ar+{uuid}.")


def test_ids_differing_only_in_case_get_different_addresses_that_tell_them_apart():
    upper, lower = reply_address("ACME", DOMAIN), reply_address("acme", DOMAIN)

    assert upper != lower
    assert (account_from_address(upper), account_from_address(lower)) == ("ACME", "acme")


@given(SHORT_ACCOUNT_IDS, st.data())
def test_a_mistyped_token_never_names_another_account(account_id, data):
    token = reply_token(account_id)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_-."))
    mistyped = token[:position] + replacement + token[position + 1 :]
    assume(mistyped.lower() != token)

    assert parse_reply_token(mistyped) in (None, account_id)


@pytest.mark.parametrize(
    "address",
    [
        "ar@billing.example.com",
        "ar+@billing.example.com",
        "ar+acme@billing.example.com",
        "ar+acme.aaaaaaaa@billing.example.com",
        "ar+acme.oeyabhwt+extra@billing.example.com",
        "ar+_acme_9.aaaaaaaa@billing.example.com",
        "not an address",
    ],
)
def test_addresses_without_a_valid_token_name_no_account(address):
    assert account_from_address(address) is None


def test_an_id_too_long_for_a_local_part_is_refused_with_the_reason():
    with pytest.raises(InvalidInput) as refused:
        reply_address("Mixed.Case/" + "A" * 40, DOMAIN)

    assert refused.value.field == "account_id"
    assert "use the plain address" in refused.value.reason
