"""Package ids for edXML documents, and edXML's date and time forms."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from signing.edxml.errors import EdxmlError
from signing.workdays import VIETNAM_TZ

EDXML_NAMESPACE_UUID = uuid.UUID("519c6976-4b3c-5ad4-aca8-df63017f6fb1")
"""uuid5(NAMESPACE_URL, "http://www.mic.gov.vn/TBT/QCVN_102_2016"): the namespace of package ids."""

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^([0-9]{4})[/-]([0-9]{1,2})[/-]([0-9]{1,2})(?:[ T].*)?$")
_LOCAL_TIME = re.compile(
    r"^([0-9]{4})[/-]([0-9]{1,2})[/-]([0-9]{1,2})[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$"
)


def package_id_for(organ_id: str, document_id: str) -> str:
    """The hub's package id for the document `document_id` sent by `organ_id`.

    A DocumentId that is itself a UUID (8-4-4-4-12 hex) is the package id, in
    lower case; any other is hashed: `uuid5(EDXML_NAMESPACE_UUID,
    organ_id + "," + document_id)`, the UTF-8 of the two joined by one comma.
    """
    if _UUID.match(document_id):
        return document_id.lower()
    return str(uuid.uuid5(EDXML_NAMESPACE_UUID, f"{organ_id},{document_id}"))


def update_id_for(organ_id: str, document_id: str, business_type: int, timestamp: str) -> str:
    """The package id of a revocation (1) or update (2) of `document_id`.

    Those resend the earlier document's DocumentId, so their own id also
    takes the business type and the sender's TraceHeader timestamp.
    """
    name = f"{organ_id},{document_id},{business_type},{timestamp}"
    return str(uuid.uuid5(EDXML_NAMESPACE_UUID, name))


def iso_date(value: str | None, field: str) -> str | None:
    """`yyyy/MM/dd`, `yyyy-MM-dd` (a time after it ignored) to `yyyy-MM-dd`."""
    if value is None:
        return None
    found = _DATE.match(value)
    if found is None:
        raise EdxmlError("edxml_invalid_value", f"{field} is not a date: {value[:40]!r}")
    year, month, day = (int(g) for g in found.groups())
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError as exc:
        raise EdxmlError("edxml_invalid_value", f"{field} is not a date: {value[:40]!r}") from exc


def edxml_date(value: str) -> str:
    """`yyyy-MM-dd` to the `yyyy/MM/dd` the SDKs write."""
    return value.replace("-", "/")


def signing_time_of(timestamp: str | None) -> str | None:
    """An RFC 3339 signing time from a TraceHeader timestamp.

    An ISO 8601 time with an offset is kept as written (a `Z` time stays UTC,
    which the rules call BAD_SIGNING_TIME); the SDKs' `yyyy/MM/dd HH:mm:ss`
    without an offset is Vietnam time by convention and gets `+07:00`.
    Anything else is returned unchanged, and judged unparseable.
    """
    if timestamp is None:
        return None
    local = _LOCAL_TIME.match(timestamp)
    if local is None:
        return timestamp
    year, month, day, hour, minute, second = (int(g or 0) for g in local.groups())
    try:
        when = dt.datetime(year, month, day, hour, minute, second, tzinfo=VIETNAM_TZ)
    except ValueError:
        return timestamp
    return when.isoformat()


def edxml_timestamp(when: dt.datetime) -> str:
    """ISO 8601 in Vietnam time, seconds precision: what we write in a TraceHeader."""
    return when.astimezone(VIETNAM_TZ).replace(microsecond=0).isoformat()
