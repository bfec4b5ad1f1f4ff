"""The document package of DESIGN section 3 and its manifest (the signed content).

The manifest is the package without `signatures` and without each
attachment's `content`, canonicalised with RFC 8785. It is built from the
fields as they were given (`exclude_unset`), so a package parsed from a
sender's JSON has exactly the manifest the sender signed, even when the
sender left optional fields out.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import types
import typing
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import pybase64
import pydantic_core
import rfc8785
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

AGENCY_CODE_PATTERN = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$"
B64URL_PATTERN = r"^[A-Za-z0-9_-]*$"
UUID_PATTERN = r"^-*(?:[0-9a-fA-F]-*){32}$"
"""32 hex digits, dashes anywhere: what `uuid.UUID` reads (with the length, 32 to 36)."""
MAX_PROTECTED_HEADER = 64 * 1024
MAX_SIGNATURES = 16

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class PackageFormatError(ValueError):
    """Input that is not a package. `code` is stable; `fields` names what is wrong."""

    def __init__(self, code: str, detail: str, fields: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.fields = [dict(f) for f in fields]


class DocumentCode(BaseModel):
    model_config = _STRICT
    number: str = Field(max_length=64)
    notation: str = Field(max_length=128)


class Promulgation(BaseModel):
    model_config = _STRICT
    place: str = Field(max_length=256)
    date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Signer(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=256)
    position: str | None = Field(default=None, max_length=256)
    competence: str | None = Field(default=None, max_length=256)


class Business(BaseModel):
    """0 new, 1 revocation, 2 update, 3 replacement (of `document_id`)."""

    model_config = _STRICT
    type: int = Field(default=0, ge=0, le=3)
    document_id: str | None = Field(default=None, max_length=64)


class Header(BaseModel):
    """The edXML metadata of the document."""

    model_config = _STRICT
    code: DocumentCode
    promulgation: Promulgation
    type: str = Field(max_length=16)
    subject: str = Field(max_length=4096)
    signer: Signer
    priority: int = Field(default=0, ge=0, le=4)
    due_date: str | None = Field(default=None, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    steering_type: int | None = Field(default=None, ge=0, le=9)
    business: Business = Field(default_factory=Business)


class Attachment(BaseModel):
    """A file: metadata is signed; `content` (base64) is checked against `size`/`sha256`."""

    model_config = _STRICT
    name: str = Field(min_length=1, max_length=255)
    media_type: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=0, le=2**53 - 1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content: str
    _data: bytes = PrivateAttr(default=b"")
    _digest: tuple[bytes, str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _decode(self) -> Attachment:
        self._data = _b64decode(self.content)
        return self

    @property
    def data(self) -> bytes:
        return self._data

    @property
    def intact(self) -> bool:
        """Whether the content still has the signed size and SHA-256.

        The content is hashed once: the digest is kept with the bytes it is of,
        so a copy with other content (`model_copy`) never reuses a stale one.
        """
        private = self.__pydantic_private__ or {}  # direct: `self._x` goes through __getattr__
        data: bytes = private.get("_data", b"")
        if len(data) != self.size:
            return False
        known: tuple[bytes, str] | None = private.get("_digest")
        if known is None or known[0] is not data:
            known = self._digest = (data, hashlib.sha256(data).hexdigest())
        return known[1] == self.sha256


def _b64decode(text: str) -> bytes:
    """`base64.b64decode(text, validate=True)`, by pybase64's SIMD decoder (twenty
    times faster on a large file); what it refuses is decided by the standard
    library, so the same content is accepted as ever."""
    try:
        return pybase64.b64decode(text, validate=True)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("content is not valid base64") from exc


class Signature(BaseModel):
    """One member of a JWS `signatures` array (general JSON serialization)."""

    model_config = _STRICT
    protected: str = Field(min_length=1, max_length=MAX_PROTECTED_HEADER, pattern=B64URL_PATTERN)
    signature: str = Field(max_length=4096, pattern=B64URL_PATTERN)


class Package(BaseModel):
    """One official document on its way from a sender to its recipients."""

    model_config = _STRICT
    id: str = Field(min_length=32, max_length=36, pattern=UUID_PATTERN)
    sender: str = Field(pattern=AGENCY_CODE_PATTERN)
    recipients: list[Annotated[str, Field(pattern=AGENCY_CODE_PATTERN)]] = Field(
        min_length=1, max_length=10000, json_schema_extra={"uniqueItems": True}
    )
    header: Header
    attachments: list[Attachment] = Field(default_factory=list, max_length=1000)
    signatures: list[Signature] = Field(default_factory=list, max_length=MAX_SIGNATURES)

    @model_validator(mode="after")
    def _check(self) -> Package:
        try:
            uuid.UUID(self.id)
        except ValueError as exc:
            raise ValueError("id is not a UUID") from exc
        bad = [r for r in self.recipients if not _is_agency_code(r)]
        if bad:
            raise ValueError(f"recipients are not agency codes: {', '.join(bad[:5])}")
        return self


def _is_agency_code(value: str) -> bool:
    return re.fullmatch(AGENCY_CODE_PATTERN, value) is not None


def manifest_bytes(pkg: Package) -> bytes:
    """The signed content: RFC 8785 JSON without signatures and attachment contents."""
    data = _manifest_value(pkg)
    # The schema guarantees the fast path's domain (see `canonical_json`); the
    # keys come out sorted from `_manifest_value`, and pydantic's JSON writer
    # escapes strings exactly as `json.dumps(ensure_ascii=False)` and RFC 8785 do.
    try:
        return pydantic_core.to_json(data)
    except pydantic_core.PydanticSerializationError:  # a lone surrogate
        return bytes(rfc8785.dumps(data))


def _manifest_value(model: BaseModel) -> dict[str, Any]:
    """The fields as given (like `model_dump(exclude_unset=True)`), keys sorted, minus
    signatures and attachment contents. Walking the models directly, with the
    shape of each model worked out once, costs a fraction of a dump followed
    by a sorting encoder."""
    given = model.__pydantic_fields_set__
    values = model.__dict__
    out: dict[str, Any] = {}
    for name, shape in _manifest_fields(type(model)):
        if name in given:
            value = values[name]
            if shape is _PLAIN:
                out[name] = value
            elif shape is _MODEL:
                out[name] = _manifest_value(value)
            elif shape is _MODELS:
                out[name] = [_manifest_value(v) for v in value]
            else:
                out[name] = _any_value(value)
    return out


def _any_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _manifest_value(value)
    if isinstance(value, list | tuple):
        return [_any_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _any_value(v) for k, v in sorted(value.items())}
    return value


# How a field's value goes into the manifest: as it is (strings, integers,
# lists of them), as a model, as a list of models, or by a generic walk.
_PLAIN, _MODEL, _MODELS, _ANY = "plain", "model", "models", "any"


@functools.cache
def _manifest_fields(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """A model's fields in the manifest and their shapes, in RFC 8785 order (the
    names are ASCII, so code-point order is UTF-16 order)."""
    excluded: set[str] = set()
    if issubclass(model, Package):
        excluded.add("signatures")
    if issubclass(model, Attachment):
        excluded.add("content")
    return tuple(
        (name, _shape(model.model_fields[name].annotation))
        for name in sorted(set(model.model_fields) - excluded)
    )


def _shape(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if _is_model(annotation):
        return _MODEL
    if origin is list and len(args) == 1 and _is_model(args[0]):
        return _MODELS
    if annotation in (str, int, bool, type(None)):
        return _PLAIN
    if origin in (list, types.UnionType, typing.Union) and all(
        _shape(arg) is _PLAIN for arg in args
    ):
        return _PLAIN
    return _ANY


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _dumps_sorted(data: Any) -> bytes:
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_json(data: Any) -> bytes:
    """RFC 8785 bytes for a manifest.

    For manifests, `json.dumps(sort_keys=True, ensure_ascii=False)` yields the
    same bytes as RFC 8785 and is several times faster than the pure-Python
    `rfc8785` library: the keys are fixed ASCII schema names (so code-point and
    UTF-16 order agree), numbers are integers bounded by the schema to 2**53,
    and Python escapes strings exactly as RFC 8785 does (", \\, \\b \\f \\n \\r
    \\t, other controls as lowercase \\u00xx). `rfc8785` stays the reference:
    tests compare both, and anything else (floats, lone surrogates) goes to it.
    """
    try:
        if _fast_path_applies(data):
            return _dumps_sorted(data)
    except UnicodeEncodeError:
        pass
    return bytes(rfc8785.dumps(data))


def _fast_path_applies(value: Any) -> bool:
    if isinstance(value, dict):
        return all(k.isascii() and _fast_path_applies(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_fast_path_applies(v) for v in value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    return isinstance(value, int) and -(2**53) < value < 2**53


def manifest_digest(pkg: Package) -> str:
    """Lowercase hex SHA-256 of the manifest: what receipts and idempotency compare."""
    return hashlib.sha256(manifest_bytes(pkg)).hexdigest()


def attachment_errors(pkg: Package) -> list[str]:
    """Names of attachments whose content no longer matches their size and SHA-256."""
    return [a.name for a in pkg.attachments if not a.intact]


def new_package(
    sender: str,
    recipients: Iterable[str],
    header: Header | Mapping[str, Any],
    files: Iterable[tuple[str, str, bytes]] = (),
    *,
    id: str | None = None,
) -> Package:
    """A fresh unsigned package; `files` are `(name, media_type, content)` triples."""
    attachments = [
        {
            "name": name,
            "media_type": media_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "content": base64.b64encode(content).decode(),
        }
        for name, media_type, content in files
    ]
    head = header.model_dump() if isinstance(header, Header) else dict(header)
    draft = {
        "id": id or str(uuid.uuid4()),
        "sender": sender,
        "recipients": list(recipients),
        "header": head,
        "attachments": attachments,
        "signatures": [],
    }
    pkg = parse_package(draft)
    # Round-trip through a full dump so every field counts as given: the
    # manifest then covers defaults too, as any other implementation would see them.
    return parse_package(pkg.model_dump(mode="json"))


def parse_package(source: bytes | str | Mapping[str, Any]) -> Package:
    """A `Package` from JSON bytes/text or a decoded dict; raises `PackageFormatError`.

    JSON is read by pydantic's own parser straight into the model (half the
    cost of `json.loads` then validating the dict, for a typical package).
    """
    try:
        if isinstance(source, bytes | str):
            return Package.model_validate_json(source)
        if not isinstance(source, Mapping):
            raise PackageFormatError("invalid_package", "the package must be a JSON object")
        return Package.model_validate(dict(source))
    except ValidationError as exc:
        raise _format_error(exc) from exc


def _format_error(exc: ValidationError) -> PackageFormatError:
    errors = exc.errors(include_url=False, include_input=False)
    for err in errors:
        if err["type"] == "json_invalid":
            return PackageFormatError("not_json", f"the package is not JSON: {err['msg']}")
        if err["type"] == "model_type" and not err["loc"]:
            return PackageFormatError("invalid_package", "the package must be a JSON object")
        if err["type"] == "too_short" and err["loc"] == ("recipients",):
            return PackageFormatError(
                "no_recipients",
                "the package has no recipients",
                [{"field": "recipients", "message": "at least one recipient is required"}],
            )
    fields = [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in errors
    ]
    return PackageFormatError(
        "invalid_package", f"the package does not match the schema ({len(fields)} errors)", fields
    )


def package_json(pkg: Package) -> bytes:
    """The wire form: JSON of the fields as given."""
    return pkg.model_dump_json(exclude_unset=True).encode()


def package_dict(pkg: Package) -> dict[str, Any]:
    return pkg.model_dump(mode="json", exclude_unset=True)
