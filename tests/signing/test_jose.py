"""Compact JWS for receipts and the directory, and member bearer tokens."""

from __future__ import annotations

import time

import pytest

from signing import jose
from signing.certs import fingerprint
from signing.pki import CertificateAuthority, IssuedCertificate


@pytest.fixture(scope="module", params=["ec", "rsa2048"])
def member(request: pytest.FixtureRequest, ca: CertificateAuthority) -> IssuedCertificate:
    return ca.issue("organization", "000.00.00.H26", "UBND", key_type=request.param)


def test_sign_and_verify_compact(member: IssuedCertificate) -> None:
    token = jose.sign_compact({"receipt": "x", "n": 1}, member.key, member.full_chain)
    header = jose.unverified_header(token)
    assert header["kid"] == fingerprint(member.cert)
    assert jose.chain_from_x5c(header["x5c"])[0] == member.cert
    assert jose.verify_compact(token, member.cert) == {"receipt": "x", "n": 1}


def test_compact_signed_by_another_key_is_refused(
    ca: CertificateAuthority, member: IssuedCertificate
) -> None:
    other = ca.issue("organization", "000.00.00.H26", "UBND")
    token = jose.sign_compact({"a": 1}, member.key, member.cert)
    with pytest.raises(jose.JoseError) as caught:
        jose.verify_compact(token, other.cert)
    assert caught.value.code == "kid_mismatch"
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    with pytest.raises(jose.JoseError):
        jose.verify_compact(tampered, member.cert)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c", "x" * 100, "e30.e30."])
def test_malformed_tokens(member: IssuedCertificate, token: str) -> None:
    with pytest.raises(jose.JoseError):
        jose.verify_compact(token, member.cert)


def test_member_token(member: IssuedCertificate) -> None:
    token = jose.mint_token(member.key, member.cert, "000.00.00.H26", "hub-1")
    assert jose.unverified_header(token)["kid"] == fingerprint(member.cert)
    claims = jose.verify_token(token, member.cert, audience="hub-1")
    assert claims["iss"] == "000.00.00.H26" and claims["exp"] - claims["iat"] == 300
    with pytest.raises(jose.JoseError, match="bad_audience"):
        jose.verify_token(token, member.cert, audience="hub-2")


def test_expired_and_too_long_tokens(member: IssuedCertificate) -> None:
    old = jose.mint_token(member.key, member.cert, "i", "hub", now=int(time.time()) - 1000)
    with pytest.raises(jose.JoseError, match="expired"):
        jose.verify_token(old, member.cert, audience="hub")
    long = jose.mint_token(member.key, member.cert, "i", "hub", lifetime=3600)
    with pytest.raises(jose.JoseError, match="bad_lifetime"):
        jose.verify_token(long, member.cert, audience="hub")
