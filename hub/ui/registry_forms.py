"""The registry pages' admin forms: add, update, suspend, reinstate, rotate a certificate.

Each form is checked by the admin API's own models (`MemberCreate`,
`MemberUpdate`, `CertificateIn`) and acted on by the registry services the API
calls, with the operator as the change's actor. A first post runs the service
in a transaction that is rolled back: a refusal shows the form again with the
registry's message, otherwise a confirmation page shows the change; only the
confirmed post (`confirm=1`) commits, then the member page says what was done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import hub_context
from hub.eventlog.history import FieldChange, member_diff
from hub.ui.auth import check_csrf, form_fields, require_session
from hub.ui.registry_pages import FormErrors, member_page, members_page
from hub.ui.render import page
from hub.ui.session import UiSession
from registry.admin_api import CertificateIn, MemberCreate, MemberUpdate
from registry.certificates import add_certificate
from registry.codes import AGENCY_CODE_PATTERN
from registry.members import (
    MemberFilter,
    MemberInput,
    change_status,
    create_member,
    get_member,
    member_view,
    update_member,
)
from registry.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
Code = Path(pattern=AGENCY_CODE_PATTERN)
MEMBER_FIELDS = ("code", "name", "kind", "parent", "delivery_mode", "endpoint", "policy",
                 "wire_format")  # fmt: skip
UPDATE_FIELDS = ("name", "kind", "delivery_mode", "endpoint", "policy", "wire_format")
STATUS_ACTIONS = {"suspend": "Tạm ngừng (suspend)", "reinstate": "Khôi phục (reinstate)"}

M = TypeVar("M", bound=BaseModel)
Views = tuple[dict[str, Any] | None, dict[str, Any]]
"""A member's view before (None: it did not exist) and after an operation."""
Operation = Callable[[AsyncSession], Awaitable[Views]]


class Refused(Exception):
    """A form the registry (or the API's model) refused; shown again with `errors`."""

    def __init__(self, errors: FormErrors, status: int = 422) -> None:
        self.errors = errors
        self.status = status


PATTERN_HINTS = {
    "code": "mã định danh theo QCVN 102, ví dụ 000.00.12.H26 (a QCVN 102 agency code)",
    "parent": "mã định danh theo QCVN 102, ví dụ 000.00.00.H26 (a QCVN 102 agency code)",
    "endpoint": "một URL http:// hoặc https:// (an http(s) URL)",
    "name": "không được để trống (must not be blank)",
}
"""What a field must look like, said instead of the regular expression it failed."""


def _validation_errors(exc: ValidationError) -> FormErrors:
    errors: FormErrors = []
    for e in exc.errors():
        field = str(e["loc"][-1]) if e["loc"] else ""
        hint = PATTERN_HINTS.get(field) if e["type"] == "string_pattern_mismatch" else None
        errors.append((field, hint or e["msg"]))
    return errors


def _model(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Refused(_validation_errors(exc)) from None


async def _run(request: Request, operation: Operation, *, commit: bool) -> Views:
    """The registry operation, for real (`commit`) or as a check that is rolled back."""
    sessions = hub_context(request).sessions
    try:
        if commit:
            async with sessions.begin() as db:
                return await operation(db)
        async with sessions() as db:
            try:
                return await operation(db)
            finally:
                await db.rollback()
    except Problem as problem:
        if problem.status == 404 or problem.status >= 500:  # no such member; unavailable
            raise
        fields = [(str(e.get("field") or ""), str(e["message"])) for e in problem.errors or []]
        raise Refused(fields or [("", problem.detail)], problem.status) from None


async def _admin_form(request: Request, session: UiSession) -> dict[str, str]:
    await check_csrf(request, session)
    if not session.is_admin:
        raise Problem(403, "forbidden_role", "changing the registry needs the admin role")
    return await form_fields(request)


async def _confirm_or_act(
    request: Request,
    session: UiSession,
    form: dict[str, str],
    operation: Operation,
    *,
    title: str,
    action: str,
    code: str,
    hidden: dict[str, str],
) -> Response:
    """Check, then ask for confirmation; on the confirmed post act and go to the member."""
    confirmed = form.get("confirm") == "1"
    before, after = await _run(request, operation, commit=confirmed)
    changes: list[FieldChange] = member_diff(before, after)
    if confirmed:
        done = action if changes or before is None else "unchanged"
        return RedirectResponse(f"/ui/registry/{after['code']}?done={done}#result", 303)
    return page(
        request, "registry_confirm.html", session, title=title, code=after["code"],
        created=before is None, changes=changes, member=after, hidden=hidden,
        action_url=request.url.path, back=f"/ui/registry/{code}" if code else "/ui/registry",
    )  # fmt: skip


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@router.post("/registry/members")
async def create(request: Request, session: UiSession = Depends(require_session)) -> Response:
    form = await _admin_form(request, session)
    values = {name: form.get(name, "") for name in MEMBER_FIELDS}
    data: dict[str, Any] = {
        **values, "parent": _optional(values["parent"]), "endpoint": _optional(values["endpoint"]),
        "code": values["code"].strip(),
    }  # fmt: skip
    try:
        body = _model(MemberCreate, data)

        async def operation(db: AsyncSession) -> Views:
            member = await create_member(db, MemberInput(**body.model_dump()), actor=session.actor)
            return None, member_view(member)

        return await _confirm_or_act(
            request, session, form, operation, title="Thêm thành viên (register)",
            action="create", code="", hidden=values,
        )  # fmt: skip
    except Refused as refused:
        return await members_page(
            request, session, MemberFilter(), errors=refused.errors, values=values,
            status=refused.status,
        )  # fmt: skip


@router.post("/registry/{code}/update")
async def update(
    request: Request, code: str = Code, session: UiSession = Depends(require_session)
) -> Response:
    form = await _admin_form(request, session)
    values = {name: form.get(name, "") for name in UPDATE_FIELDS}
    try:
        body = _model(MemberUpdate, {**values, "endpoint": _optional(values["endpoint"])})

        async def operation(db: AsyncSession) -> Views:
            before = member_view(await get_member(db, code))
            changes = body.model_dump(exclude_unset=True)
            return before, member_view(await update_member(db, code, changes, actor=session.actor))

        return await _confirm_or_act(
            request, session, form, operation, title=f"Cập nhật {code} (update)",
            action="update", code=code, hidden=values,
        )  # fmt: skip
    except Refused as refused:
        return await _again(request, session, code, "update", refused, values)


@router.post("/registry/{code}/status")
async def status(
    request: Request, code: str = Code, session: UiSession = Depends(require_session)
) -> Response:
    form = await _admin_form(request, session)
    action = form.get("action", "")
    try:
        if action not in STATUS_ACTIONS:
            raise Refused([("action", f"unknown action {action!r}: suspend or reinstate")])

        async def operation(db: AsyncSession) -> Views:
            before = member_view(await get_member(db, code))
            return before, member_view(await change_status(db, code, action, actor=session.actor))

        return await _confirm_or_act(
            request, session, form, operation, title=f"{STATUS_ACTIONS[action]} {code}",
            action=action, code=code, hidden={"action": action},
        )  # fmt: skip
    except Refused as refused:
        return await _again(request, session, code, "status", refused, {"action": action})


@router.post("/registry/{code}/rotate")
async def rotate(
    request: Request, code: str = Code, session: UiSession = Depends(require_session)
) -> Response:
    form = await _admin_form(request, session)
    values = {
        "certificate": form.get("certificate", ""),
        "signing": "on" if form.get("signing") else "",
        "auth": "on" if form.get("auth") else "",
    }
    try:
        body = _model(CertificateIn, {
            "certificate": values["certificate"], "signing": bool(values["signing"]),
            "auth": bool(values["auth"]),
        })  # fmt: skip
        roots = hub_context(request).identity.roots

        async def operation(db: AsyncSession) -> Views:
            before = member_view(await get_member(db, code))
            await add_certificate(
                db, code, body.certificate, roots=roots, actor=session.actor,
                signing=body.signing, auth=body.auth, rotate=True,
            )  # fmt: skip
            return before, member_view(await get_member(db, code))

        return await _confirm_or_act(
            request, session, form, operation, title=f"Thay chứng thư {code} (rotate)",
            action="rotate", code=code, hidden=values,
        )  # fmt: skip
    except Refused as refused:
        return await _again(request, session, code, "rotate", refused, values)


async def _again(
    request: Request,
    session: UiSession,
    code: str,
    form: str,
    refused: Refused,
    values: dict[str, str],
) -> HTMLResponse:
    return await member_page(
        request, session, code, errors=refused.errors, form=form, values=values,
        status=refused.status,
    )  # fmt: skip
