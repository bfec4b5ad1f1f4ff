"""Member authentication among the ~12,000 members of the national tree: every request
reads its own member by key, and nothing reads the member tables whole."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from registry.national_load import load_units
from registry.national_tree import national_tree
from signing.certs import cert_to_pem
from signing.jose import mint_token
from tests.conftest import HUB_ID

Register = Callable[..., Awaitable[Any]]
COMMUNES = ("000.01.20.H49", "000.05.21.H26", "000.03.19.H62")
MEMBER_TABLES = re.compile(r"\bFROM (members|member_certificates)\b(?P<rest>.*)", re.S | re.I)


@contextmanager
def _statements(hub_app: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = hub_app.state.hub.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_authentication_reads_one_member_by_key_among_12000(
    hub_app: Any, hub_client: httpx.AsyncClient, admin: dict[str, str], pki: Any
) -> None:
    units = national_tree()
    async with hub_app.state.hub.sessions.begin() as session:
        result = await load_units(session, units, actor="test")
    assert result.added == len(units) > 11_000

    tokens = []
    for code in COMMUNES:
        issued = pki.issue_member(code)
        response = await hub_client.post(
            f"/v1/admin/members/{code}/certificates",
            json={"certificate": cert_to_pem(issued.cert).decode()},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        tokens.append(mint_token(issued.key, issued.cert, code, HUB_ID))

    with _statements(hub_app) as seen:
        for _ in range(3):
            for token in tokens:
                response = await hub_client.get(
                    f"/v1/documents/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 404, response.text
    reading_members = [s for s in seen if MEMBER_TABLES.search(s)]
    assert reading_members, "the first request of each token reads its member"
    for statement in reading_members:
        rest = MEMBER_TABLES.search(statement)
        assert rest is not None and "WHERE" in rest.group("rest").upper(), statement
        keyed = r"(members\.code = |member_certificates\.member_code IN \(|fingerprint = )"
        assert re.search(keyed, statement), statement
    # the kept rows: one read (the member, then its certificates) per member, however many
    # requests it makes
    assert len(reading_members) <= 2 * len(tokens)
