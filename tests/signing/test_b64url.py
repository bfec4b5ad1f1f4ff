"""`b64url_decode` reads exactly what `base64.urlsafe_b64decode` reads, minus padding."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from signing.jose import b64url
from signing.package import Attachment
from signing.sign import b64url_decode


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 64, 1851, 2500])
def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    assert b64url_decode(b64url(data)) == data


@pytest.mark.parametrize(
    "text",
    ["-_-_", "ab-_cd", "YWJj", "a+b/", "ab c\nd", "ab!c", "a", "abcde", "", "QQ"],
)
def test_same_answer_as_urlsafe_b64decode(text: str) -> None:
    try:
        expected: bytes | None = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        expected = None
    try:
        got: bytes | None = b64url_decode(text)
    except ValueError:
        got = None
    assert got == expected


@pytest.mark.parametrize("text", ["YQ==", "YWI=", "é", "YW\u00e9J"])
def test_padding_and_non_ascii_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)


@pytest.mark.parametrize(
    "content",
    ["QUJD", "QUJD=", "QQ=", "QQ==", "QQ===", "QQ==QQ==", "QU JD", "QUJD\n", "Q-_D", "é", ""],
)
def test_attachment_content_is_read_as_b64decode_validate_reads_it(content: str) -> None:
    try:
        expected: bytes | None = base64.b64decode(content, validate=True)
    except ValueError:
        expected = None
    fields = {"name": "a", "media_type": "text/plain", "size": 0, "sha256": "0" * 64}
    try:
        got: bytes | None = Attachment.model_validate({**fields, "content": content}).data
    except ValidationError:
        got = None
    assert got == expected
