"""The registry's operator API under `/v1/admin`: members, certificates, the change log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from registry.certificates import add_certificate
from registry.changes import change_view, list_changes
from registry.codes import AGENCY_CODE_PATTERN
from registry.context import RegistryContext, registry_context
from registry.db import INT64_MAX
from registry.members import (
    MemberFilter,
    MemberInput,
    change_status,
    create_member,
    get_member,
    list_members,
    member_view,
    update_member,
)
from registry.models import AcceptancePolicy, DeliveryMode, MemberKind, MemberStatus, WireFormat
from registry.operator_auth import AuthenticatedOperator, operators_only, require_role
from registry.params import ENDPOINT_PATTERN, IsoDateTime

router = APIRouter(prefix="/v1/admin", tags=["registry admin"])


NAME_PATTERN = r"[^\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""Something besides white space: a character Python's `str.isspace` (what `members`
strips) says is not, spelled out because `\\s` differs between regex engines."""


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        pattern=AGENCY_CODE_PATTERN, examples=["000.00.12.H26"], description="QCVN 102 agency code"
    )
    name: str = Field(min_length=1, max_length=300, pattern=NAME_PATTERN)
    kind: MemberKind = "other"
    parent: str | None = Field(
        None,
        pattern=AGENCY_CODE_PATTERN,
        description="Must be the code's parent; implied if omitted",
    )
    delivery_mode: DeliveryMode = "pull"
    endpoint: str | None = Field(
        None,
        max_length=2048,
        pattern=ENDPOINT_PATTERN,
        description="http(s) base URL; required for push",
    )
    policy: AcceptancePolicy = "accept_all"
    wire_format: WireFormat = Field(
        "json", description="How it receives pushes, inbox items and statuses: json or edxml"
    )


class MemberUpdate(BaseModel):
    """Only the fields sent change; `endpoint: null` removes the endpoint (pull members).

    The others may be left out but not be null (`SkipJsonSchema`: the schema says so, and
    the registry's checks refuse a null).
    """

    model_config = ConfigDict(extra="forbid")

    name: (
        Annotated[str, Field(min_length=1, max_length=300, pattern=NAME_PATTERN)]
        | (SkipJsonSchema[None])
    ) = None
    kind: MemberKind | SkipJsonSchema[None] = None
    delivery_mode: DeliveryMode | SkipJsonSchema[None] = None
    endpoint: str | None = Field(None, max_length=2048, pattern=ENDPOINT_PATTERN)
    policy: AcceptancePolicy | SkipJsonSchema[None] = None
    wire_format: WireFormat | SkipJsonSchema[None] = None


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate: str = Field(description="PEM; the member's organisation certificate")
    signing: bool = True
    auth: bool = True


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


Admin = Depends(require_role("admin"))
Auditor = Depends(require_role("auditor"))
Context = Depends(registry_context)
Code = Path(pattern=AGENCY_CODE_PATTERN, description="QCVN 102 agency code")


@router.post(
    "/members", status_code=201, summary="Register a member", **operators_only("admin", 409)
)
async def create(
    body: MemberCreate,
    response: Response,
    operator: AuthenticatedOperator = Admin,
    context: RegistryContext = Context,
) -> dict[str, Any]:
    """Register a member (admin). A push member needs `endpoint`: the hub then POSTs its
    documents and statuses there (the `memberInbox` and `memberStatus` callbacks). Its
    certificates come next (`POST /v1/admin/members/{code}/certificates`)."""
    async with context.sessions.begin() as session:
        member = await create_member(
            session, MemberInput(**body.model_dump()), actor=operator.actor
        )
        view = member_view(member)
    response.headers["Location"] = f"/v1/admin/members/{view['code']}"
    return view


@router.get("/members", summary="List members", **operators_only("auditor"))
async def list_(
    kind: MemberKind | None = None,
    status: MemberStatus | None = None,
    parent: str | None = Query(None, pattern=AGENCY_CODE_PATTERN),
    delivery_mode: DeliveryMode | None = None,
    q: str | None = Query(None, max_length=300, description="Part of the name, case-insensitive"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    operator: AuthenticatedOperator = Auditor,
    context: RegistryContext = Context,
) -> Page:
    """Members in code order, filtered and paged."""
    async with context.sessions() as session:
        rows, total = await list_members(
            session,
            MemberFilter(kind, status, parent, delivery_mode, q),
            limit=limit,
            offset=offset,
        )
        return Page(items=[member_view(m) for m in rows], total=total, limit=limit, offset=offset)


@router.get("/members/{code}", summary="A member", **operators_only("auditor", 404))
async def read(
    code: str = Code, operator: AuthenticatedOperator = Auditor, context: RegistryContext = Context
) -> dict[str, Any]:
    """The member with its certificates, each with its PEM."""
    async with context.sessions() as session:
        return member_view(await get_member(session, code), with_pem=True)


@router.patch("/members/{code}", summary="Change a member", **operators_only("admin", 404, 409))
async def update(
    body: MemberUpdate,
    code: str = Code,
    operator: AuthenticatedOperator = Admin,
    context: RegistryContext = Context,
) -> dict[str, Any]:
    """Change name, kind, delivery mode, endpoint or policy (only the fields sent)."""
    changes = body.model_dump(exclude_unset=True)
    async with context.sessions.begin() as session:
        return member_view(await update_member(session, code, changes, actor=operator.actor))


async def _transition(
    code: str, action: str, operator: AuthenticatedOperator, context: RegistryContext
) -> dict[str, Any]:
    async with context.sessions.begin() as session:
        return member_view(await change_status(session, code, action, actor=operator.actor))


@router.post(
    "/members/{code}/suspend", summary="Suspend a member", **operators_only("admin", 404, 409)
)
async def suspend(
    code: str = Code, operator: AuthenticatedOperator = Admin, context: RegistryContext = Context
) -> dict[str, Any]:
    """Suspend: the member's tokens stop working at once."""
    return await _transition(code, "suspend", operator, context)


@router.post(
    "/members/{code}/reinstate", summary="Reinstate a member", **operators_only("admin", 404, 409)
)
async def reinstate(
    code: str = Code, operator: AuthenticatedOperator = Admin, context: RegistryContext = Context
) -> dict[str, Any]:
    """A suspended member's tokens work again."""
    return await _transition(code, "reinstate", operator, context)


@router.post(
    "/members/{code}/revoke", summary="Revoke a member", **operators_only("admin", 404, 409)
)
async def revoke(
    code: str = Code, operator: AuthenticatedOperator = Admin, context: RegistryContext = Context
) -> dict[str, Any]:
    """Revoke for good: a revoked member cannot be reinstated."""
    return await _transition(code, "revoke", operator, context)


async def _certificate(
    code: str,
    body: CertificateIn,
    rotate: bool,
    operator: AuthenticatedOperator,
    context: RegistryContext,
) -> dict[str, Any]:
    async with context.sessions.begin() as session:
        await add_certificate(
            session,
            code,
            body.certificate,
            roots=context.identity.roots,
            actor=operator.actor,
            signing=body.signing,
            auth=body.auth,
            rotate=rotate,
        )
        return member_view(await get_member(session, code))


@router.post(
    "/members/{code}/certificates",
    status_code=201,
    summary="Add a certificate",
    **operators_only("admin", 404, 409),
)
async def add_cert(
    body: CertificateIn,
    code: str = Code,
    operator: AuthenticatedOperator = Admin,
    context: RegistryContext = Context,
) -> dict[str, Any]:
    """Add a certificate next to the current ones."""
    return await _certificate(code, body, False, operator, context)


@router.post(
    "/members/{code}/certificates/rotate",
    status_code=201,
    summary="Rotate a certificate",
    **operators_only("admin", 404, 409),
)
async def rotate_cert(
    body: CertificateIn,
    code: str = Code,
    operator: AuthenticatedOperator = Admin,
    context: RegistryContext = Context,
) -> dict[str, Any]:
    """Add a certificate and retire the current ones of the same use."""
    return await _certificate(code, body, True, operator, context)


@router.get("/changes", summary="The registry change log", **operators_only("auditor"))
async def changes(
    member: str | None = Query(None, pattern=AGENCY_CODE_PATTERN),
    since: IsoDateTime | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
    operator: AuthenticatedOperator = Auditor,
    context: RegistryContext = Context,
) -> Page:
    """The registry change log, newest first."""
    async with context.sessions() as session:
        rows, total = await list_changes(
            session, member_code=member, since=since, limit=limit, offset=offset
        )
        return Page(items=[change_view(c) for c in rows], total=total, limit=limit, offset=offset)
