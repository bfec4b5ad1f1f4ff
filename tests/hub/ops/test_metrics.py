"""`/metrics`, request ids in headers, problems and JSON logs."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.hub.conftest import Hub
from tests.hub.reports.scenario import Scenario, load_scenario


async def _samples(hub: Hub) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await hub.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _get(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_documents_violations_deliveries_and_queue(hub: Hub) -> None:
    before = await _samples(hub)
    scenario: Scenario = await load_scenario(hub.client, hub.agencies)
    assert scenario.documents
    after = await _samples(hub)

    def delta(name: str, **labels: str) -> float:
        return _get(after, name, **labels) - _get(before, name, **labels)

    assert delta("lienthong_documents_accepted_total", verdict="compliant") == 3
    assert delta("lienthong_documents_accepted_total", verdict="non_compliant") == 2
    assert delta("lienthong_violations_total", code="UNSIGNED") == 1
    assert delta("lienthong_violations_total", code="NO_ORGANIZATION_SIGNATURE") == 1
    assert delta("lienthong_deliveries_total", outcome="delivered", mode="pull") == 4
    assert delta("lienthong_delivery_latency_seconds_count") == 4
    assert _get(after, "lienthong_queue_depth", state="queued") == 2
    assert _get(after, "lienthong_queue_depth", state="failed") == 0


async def test_auth_failures_are_counted_and_problems_carry_the_request_id(hub: Hub) -> None:
    before = _get(
        await _samples(hub), "lienthong_auth_failures_total", code="operator_token_missing"
    )
    response = await hub.client.get("/v1/reports/delivery")
    assert response.status_code == 401
    request_id = response.headers["x-request-id"]
    assert response.json()["request_id"] == request_id
    after = _get(
        await _samples(hub), "lienthong_auth_failures_total", code="operator_token_missing"
    )
    assert after == before + 1


@pytest.mark.parametrize(
    ("given", "kept"), [("abc-123.x", True), ("bad id with spaces", False), ("x" * 65, False)]
)
async def test_a_safe_caller_request_id_is_kept(hub: Hub, given: str, kept: bool) -> None:
    response = await hub.client.get("/v1/nowhere", headers={"X-Request-ID": given})
    assert response.status_code == 404
    echoed = response.headers["x-request-id"]
    assert (echoed == given) is kept
    assert response.json()["request_id"] == echoed


async def test_logs_are_json_lines_with_the_request_id(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = await hub.client.get("/healthz", headers={"X-Request-ID": "trace-me-1"})
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [e for e in lines if e.get("event") == "request" and e.get("path") == "/healthz"]
    assert access, lines
    assert access[-1]["request_id"] == "trace-me-1"
    assert access[-1]["status"] == response.status_code
    assert "timestamp" in access[-1] and access[-1]["level"] == "info"
