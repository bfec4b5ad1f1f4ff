"""The dashboard's registry pages: the member list and one member, each with its history.

Reading uses the registry's own services (`list_members`, `get_member`,
`member_view`, as `/v1/admin/members` does) and `registry_history` for the
change history; the admin forms on these pages post to `registry_forms`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.context import hub_context
from hub.eventlog.history import HISTORY_SORT_COLUMNS, registry_history
from hub.ui.auth import require_session
from hub.ui.forms import PAGE_SIZE
from hub.ui.render import page
from hub.ui.session import UiSession
from hub.ui.sorting import Sort, parse_sort
from registry.admin_api import MemberCreate
from registry.certificates import CERTIFICATE_SORT_COLUMNS, member_certificates
from registry.codes import AGENCY_CODE_PATTERN
from registry.db import INT64_MAX
from registry.members import (
    MEMBER_SORT_COLUMNS,
    MemberFilter,
    get_member,
    list_members,
    member_view,
)
from registry.vocabulary import (
    ACCEPTANCE_POLICIES,
    DELIVERY_MODES,
    MEMBER_KINDS,
    MEMBER_STATUSES,
    WIRE_FORMATS,
)

__all__ = ["CHOICES", "FormErrors", "member_page", "members_page", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
MEMBERS_PER_PAGE = PAGE_SIZE * 4
HISTORY_ROWS = 50
CHOICES = {
    "kind": MEMBER_KINDS,
    "delivery_mode": DELIVERY_MODES,
    "policy": ACCEPTANCE_POLICIES,
    "wire_format": WIRE_FORMATS,
}
"""The fixed vocabularies the forms offer as lists (the registry checks them again)."""
DEFAULTS = {name: str(MemberCreate.model_fields[name].default) for name in CHOICES}
"""What the add form starts with: the admin API's defaults (`MemberCreate`)."""
DONE = {
    "create": "Đã thêm thành viên (registered).",
    "update": "Đã cập nhật (updated).",
    "suspend": "Đã tạm ngừng (suspended): thẻ của thành viên hết hiệu lực ngay.",
    "reinstate": "Đã khôi phục (reinstated).",
    "rotate": "Đã thay chứng thư (certificate rotated).",
    "unchanged": "Không có gì thay đổi (nothing changed).",
}

FormErrors = list[tuple[str, str]]
"""(field, message) pairs shown above a form that was refused."""


def _history_sort(request: Request, *, with_member: bool) -> Sort:
    """The history table's own order (`history_sort`, paged by `history_offset`)."""
    columns = [c for c in HISTORY_SORT_COLUMNS if with_member or c != "member"]
    return parse_sort(request, columns, "-at", param="history_sort", offset_param="history_offset")


async def members_page(
    request: Request,
    session: UiSession,
    flt: MemberFilter,
    offset: int = 0,
    *,
    history_offset: int = 0,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The member list, its filters, the add form (admins) and the latest changes, each
    table sorted and paged on its own."""
    sort = parse_sort(request, MEMBER_SORT_COLUMNS, "code")
    history_sort = _history_sort(request, with_member=True)
    async with hub_context(request).sessions() as db:
        members, total = await list_members(
            db, flt, limit=MEMBERS_PER_PAGE + 1, offset=offset, sort=sort.value
        )
        history, history_total = await registry_history(
            db, limit=HISTORY_ROWS, offset=history_offset, sort=history_sort.value
        )
    return page(
        request, "registry.html", session, status=status, members=members[:MEMBERS_PER_PAGE],
        total=total, offset=offset, more=len(members) > MEMBERS_PER_PAGE,
        page_size=MEMBERS_PER_PAGE, flt=flt, statuses=MEMBER_STATUSES, choices=CHOICES,
        sort=sort, errors=errors or [], defaults=DEFAULTS, values=values or {},
        done=DONE.get(request.query_params.get("done", "")),
        **_history(history, history_total, history_sort, history_offset),
    )  # fmt: skip


def _history(history: list[Any], total: int, sort: Sort, offset: int) -> dict[str, Any]:
    """What `_history.html` draws: one page of the history, its order and its pager."""
    return {
        "history": history, "history_total": total, "history_sort": sort,
        "history_offset": offset, "history_more": total > offset + len(history),
        "history_page_size": HISTORY_ROWS,
    }  # fmt: skip


async def member_page(
    request: Request,
    session: UiSession,
    code: str,
    *,
    history_offset: int = 0,
    errors: FormErrors | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """One member: its record, certificates, admin forms and its own change history.

    `form` names the form a refusal belongs to, so its message and the operator's
    input appear next to it; the other forms show the member as it is.
    """
    certificates_sort = parse_sort(  # one table, not paged: a member has a few certificates
        request, CERTIFICATE_SORT_COLUMNS, "added_at", param="certificates_sort",
        offset_param="certificates_offset",
    )  # fmt: skip
    history_sort = _history_sort(request, with_member=False)
    async with hub_context(request).sessions() as db:
        view: dict[str, Any] = member_view(await get_member(db, code))
        certificates = await member_certificates(db, view["code"], sort=certificates_sort.value)
        history, history_total = await registry_history(
            db, view["code"], limit=HISTORY_ROWS, offset=history_offset, sort=history_sort.value
        )
    edit = {k: "" if v is None else str(v) for k, v in view.items() if isinstance(v, str | None)}
    if form == "update" and values:
        edit.update(values)
    return page(
        request, "member.html", session, status=status, member=view, edit=edit,
        certificates=certificates, certificates_sort=certificates_sort,
        choices=CHOICES, errors=errors or [], form=form, values=values or {},
        done=DONE.get(request.query_params.get("done", "")),
        **_history(history, history_total, history_sort, history_offset),
    )  # fmt: skip


@router.get("/registry")
async def registry_list(
    request: Request,
    offset: int = Query(0, ge=0, le=INT64_MAX),
    history_offset: int = Query(0, ge=0, le=INT64_MAX),
    status: str | None = Query(None, max_length=16),
    kind: str | None = Query(None, max_length=32),
    q: str | None = Query(None, max_length=300),
    session: UiSession = Depends(require_session),
) -> Response:
    flt = MemberFilter(status=status or None, kind=kind or None, q=q or None)
    return await members_page(request, session, flt, offset, history_offset=history_offset)


@router.get("/registry/{code}")
async def registry_member(
    request: Request,
    code: str = Path(pattern=AGENCY_CODE_PATTERN),
    history_offset: int = Query(0, ge=0, le=INT64_MAX),
    session: UiSession = Depends(require_session),
) -> Response:
    return await member_page(request, session, code, history_offset=history_offset)
