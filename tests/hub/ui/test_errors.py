"""Errors under `/ui` are HTML pages with the problem's status and code; the API stays JSON."""

from __future__ import annotations

import re

import pytest

from tests.hub.conftest import Hub
from tests.hub.ui.test_ui import _login, _problem, _token


@pytest.fixture
async def logged_in(hub: Hub) -> Hub:
    await _login(hub, await _token(hub, "auditor"))
    return hub


async def test_not_found_and_bad_parameters_are_pages(logged_in: Hub) -> None:
    client = logged_in.client
    assert _problem(await client.get("/ui/no-such-page")) == (404, "not_found")
    unknown = await client.get("/ui/documents/0b8d0f5e-3f61-4b0e-9d55-000000000000")
    assert _problem(unknown) == (404, "document_not_found")
    bad_date = await client.get("/ui/compliance", params={"since": "30/11/2026"})
    assert _problem(bad_date) == (422, "validation_error")
    assert 'id="error-fields"' in bad_date.text and "<code>since</code>" in bad_date.text
    api = await client.get("/v1/no-such-route")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


async def test_an_unforeseen_error_is_a_page_with_its_request_id(
    logged_in: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr("hub.ui.compliance.compliance_report", broken)
    response = await logged_in.client.get("/ui/compliance")
    assert _problem(response) == (500, "internal_error")
    shown = re.search(r"request id: <code>([0-9a-f]+)</code>", response.text)
    assert shown and shown.group(1) == response.headers["x-request-id"]
    assert "boom" not in response.text
