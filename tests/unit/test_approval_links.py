"""Signed approval links: any change to what a link names breaks it, and its form token differs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

from hypothesis import assume, given
from hypothesis import strategies as st

from shared.approvals import links
from shared.approvals.links import SignedLink

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

# Fields never hold control characters: ids are opaque tokens and approvers email addresses.
approval_ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=64
)
approvers = st.emails()
expiries = st.integers(min_value=0, max_value=2**40)
signed_links = st.builds(SignedLink, approval_ids, approvers, expiries)


@given(signed_links)
def test_a_link_is_valid_under_its_own_signature(link: SignedLink) -> None:
    # Given a link signed with the deployment's key
    signature = links.sign(link, KEY)

    # Then it verifies, and only under that key
    assert links.valid(link, signature, KEY)
    assert not links.valid(link, signature, OTHER_KEY)


@given(signed_links, approval_ids)
def test_changing_the_approval_id_breaks_the_signature(link: SignedLink, other_id: str) -> None:
    # Given a signed link, and another approval id
    assume(other_id != link.approval_id)
    signature = links.sign(link, KEY)

    # When the id is swapped, the signature no longer verifies
    assert not links.valid(SignedLink(other_id, link.approver, link.expires), signature, KEY)


@given(signed_links, approvers)
def test_changing_the_approver_breaks_the_signature(link: SignedLink, other: str) -> None:
    # Given a signed link, and another address (addresses compare without case)
    assume(other.lower() != link.approver.lower())
    signature = links.sign(link, KEY)

    # When the approver is swapped, the signature no longer verifies
    assert not links.valid(SignedLink(link.approval_id, other, link.expires), signature, KEY)


@given(signed_links, expiries)
def test_changing_the_expiry_breaks_the_signature(link: SignedLink, other: int) -> None:
    # Given a signed link, and another expiry (later, to keep it open, or any other)
    assume(other != link.expires)
    signature = links.sign(link, KEY)

    # When the expiry is changed, the signature no longer verifies
    assert not links.valid(SignedLink(link.approval_id, link.approver, other), signature, KEY)


def test_the_approver_is_signed_without_regard_to_case() -> None:
    # Given a link to an address, signed
    link = SignedLink("apr-1", "AR-Lead@Example.com", 1_800_000_000)
    signature = links.sign(link, KEY)

    # Then the same address in other case is the same approver
    assert links.valid(SignedLink("apr-1", "ar-lead@example.com", link.expires), signature, KEY)


@given(signed_links)
def test_the_form_token_is_not_the_link_signature(link: SignedLink) -> None:
    # Given a link's signature and its page's form token
    signature = links.sign(link, KEY)
    token = links.csrf_token(link, KEY)

    # Then they differ, and neither is accepted in place of the other
    assert token != signature
    assert links.valid_csrf(link, token, KEY)
    assert not links.valid_csrf(link, signature, KEY)
    assert not links.valid(link, token, KEY)


@given(signed_links, signed_links)
def test_a_form_token_belongs_to_one_link(link: SignedLink, other: SignedLink) -> None:
    # Given two different links
    assume(other.message() != link.message())

    # Then the form token of one is refused for the other
    assert not links.valid_csrf(other, links.csrf_token(link, KEY), KEY)


@given(signed_links)
def test_the_emailed_url_carries_exactly_what_was_signed(link: SignedLink) -> None:
    # Given the URL emailed for a link
    url = urlsplit(links.url("https://approvals.example.com/v1/", link, KEY))
    query = {name: values[0] for name, values in parse_qs(url.query).items()}

    # Then reading it back gives the same link, valid under its signature, and no other secret
    prefix = "/v1/approvals/"
    assert url.path.startswith(prefix)
    read_back = SignedLink(
        unquote(url.path[len(prefix) :]), query["approver"], int(query["expires"])
    )
    assert read_back == link
    assert links.valid(read_back, query["sig"], KEY)
    assert set(query) == {"approver", "expires", "sig"}


def test_a_link_expires_at_its_expiry_second() -> None:
    # Given a link that lapses at a given second
    lapses = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    link = SignedLink("apr-1", "ar-lead@example.com", int(lapses.timestamp()))

    # Then it is open a second before, and expired from that second on
    assert not link.expired(lapses - timedelta(seconds=1))
    assert link.expired(lapses)
    assert link.expired(lapses + timedelta(days=1))


def test_fields_cannot_be_shifted_between_each_other_to_reuse_a_signature():
    from shared.approvals.links import SignedLink, sign

    key = b"k" * 32
    assert sign(SignedLink("a\nb", "c", 1), key) != sign(SignedLink("a", "b\nc", 1), key)


def test_a_non_ascii_signature_is_simply_invalid():
    from shared.approvals.links import SignedLink, valid

    assert valid(SignedLink("a", "b@c.example", 1), "sïgnature", b"k" * 32) is False
