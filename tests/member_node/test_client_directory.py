"""The SDK's directory, tokens and typed errors against a real hub app."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable

import httpx
import pytest

from member_node.client import HubClient
from member_node.directory import DirectoryCache
from member_node.errors import DirectoryError, Unauthorized
from member_node.identity import IdentityError, NodeIdentity
from member_node.tokens import TokenMinter
from signing.certs import cert_to_pem, fingerprint
from signing.jose import unverified_claims
from tests.conftest import HUB_ID, PKIFixture
from tests.member_node.conftest import OTHER, RECIPIENT, SENDER, Agency, MakeAgency


async def test_directory_is_verified_cached_and_refreshed_by_etag(
    sender: Agency, sender_client: HubClient, pki: PKIFixture, make_agency: MakeAgency
) -> None:
    directory = await sender_client.directory()
    assert directory.hub_id == HUB_ID
    assert fingerprint(directory.hub_certificate) == fingerprint(pki.hub.cert)
    member = directory.member(SENDER)
    assert member is not None
    assert member.fingerprints == [fingerprint(sender.org.cert)]
    assert directory.ca_certificates == [pki.ca.certificate]
    assert directory.crl is not None

    assert await sender_client.directory() is directory  # fresh: no call at all
    same = await sender_client.directory(refresh=True)  # 304: the cached one is kept
    assert same is directory

    await make_agency(RECIPIENT)
    changed = await sender_client.directory(refresh=True)
    assert changed is not directory
    assert changed.member(RECIPIENT) is not None


async def test_a_directory_from_another_hub_key_is_refused(
    sender: Agency, connect: Callable[[Agency], HubClient], pki: PKIFixture
) -> None:
    impostor = pki.ca.issue("hub", "000.00.00.G00", "not the hub")
    (sender.keys / "hub.crt").write_bytes(cert_to_pem(impostor.cert))
    async with connect(sender) as client:
        with pytest.raises(DirectoryError) as caught:
            await client.directory()
    assert caught.value.code == "directory_signature_invalid"


async def test_hub_errors_surface_as_typed_exceptions_with_the_problem_code(
    sender: Agency, hub_transport: httpx.ASGITransport
) -> None:
    client = HubClient("http://hub", sender.identity, hub_id="elsewhere", transport=hub_transport)
    async with client:
        with pytest.raises(Unauthorized) as caught:
            await client.directory()
    assert caught.value.status == 401
    assert caught.value.code  # the hub's stable code, not an HTTP phrase
    assert caught.value.code != "http_401"


def test_a_token_is_reused_until_shortly_before_it_expires(sender: Agency) -> None:
    now = [1_000_000.0]
    minter = TokenMinter(sender.identity.organization, SENDER, HUB_ID, clock=lambda: now[0])
    first = minter.token()
    now[0] += 200
    assert minter.token() == first
    now[0] += 75  # 25 s left: under the 30 s margin
    second = minter.token()
    assert second != first
    claims = unverified_claims(second)
    assert (claims["iss"], claims["aud"]) == (SENDER, HUB_ID)
    assert claims["exp"] - claims["iat"] == 300
    minter.invalidate()
    assert minter.token() != second


def test_the_keys_layout_is_checked(sender: Agency) -> None:
    with pytest.raises(IdentityError, match=r"not 000\.00\.00\.G22"):
        NodeIdentity.load(sender.keys, RECIPIENT)
    (sender.keys / "org.key").chmod(0o644)
    with pytest.raises(IdentityError, match="chmod 600"):
        NodeIdentity.load(sender.keys)
    (sender.keys / "org.key").chmod(0o600)
    with pytest.raises(IdentityError, match="no keys directory"):
        NodeIdentity.load(sender.keys.parent / "missing")
    shutil.move(sender.keys / "hub.crt", sender.keys / "hub.bak")
    with pytest.raises(IdentityError, match=r"hub\.crt"):
        NodeIdentity.load(sender.keys)
    shutil.move(sender.keys / "hub.bak", sender.keys / "hub.crt")
    shutil.copyfile(sender.keys / "official.key", sender.keys / "org.key")
    with pytest.raises(IdentityError, match="does not match"):
        NodeIdentity.load(sender.keys)


async def test_the_directory_is_refetched_shortly_before_it_expires(
    sender_client: HubClient,
) -> None:
    token = (await sender_client.directory()).token
    expires = (await sender_client.directory()).expires_at.timestamp()
    now = [expires - 120.0]
    cache = DirectoryCache(sender_client.identity.hub_certificate, margin=60, clock=lambda: now[0])
    fetched: list[str | None] = []

    async def fetch(etag: str | None) -> tuple[str | None, str | None]:
        fetched.append(etag)
        return (token, '"v1"') if etag is None else (None, etag)

    first = await cache.get(fetch)
    assert await cache.get(fetch) is first and fetched == [None]
    now[0] = expires - 30  # inside the margin: ask again, with the ETag
    assert await cache.get(fetch) is first
    assert fetched == [None, '"v1"']


async def test_the_sdk_applies_deltas_and_takes_the_whole_directory_now_and_then(
    sender_client: HubClient, make_agency: MakeAgency, hub_transport: httpx.ASGITransport
) -> None:
    first = await sender_client.directory()
    assert not first.is_delta and first.version is not None
    await make_agency(RECIPIENT)
    updated = await sender_client.directory(refresh=True)
    assert updated.is_delta
    assert updated.version is not None and updated.version > first.version
    assert set(updated.members) == {SENDER, RECIPIENT}
    assert updated.members[SENDER] == first.members[SENDER]
    assert updated.member(RECIPIENT) is not None
    assert await sender_client.directory(refresh=True) is updated  # 304

    sender_client.directory_cache.full_every = 0  # the whole directory is due
    whole = await sender_client.directory(refresh=True)
    assert whole is updated  # the whole one is what is held: still a 304
    await make_agency(OTHER)
    again = await sender_client.directory(refresh=True)
    assert not again.is_delta
    assert set(again.members) == {SENDER, RECIPIENT, OTHER}


async def test_a_hub_behind_the_held_version_gives_the_whole_directory(
    sender: Agency, connect: Callable[[Agency], HubClient], make_agency: MakeAgency
) -> None:
    async with connect(sender) as client:
        held = await client.directory()
        await make_agency(RECIPIENT)
        assert held.version is not None
        client.directory_cache._current = dataclasses.replace(held, version=held.version + 100)
        fetched = await client.directory(refresh=True)
    assert not fetched.is_delta
    assert set(fetched.members) == {SENDER, RECIPIENT}
