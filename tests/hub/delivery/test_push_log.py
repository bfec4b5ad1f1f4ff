"""Every push attempt that does not deliver is one structured log line: recipient,
delivery id, error, and whether it will be retried or has failed."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.hub.conftest import Hub

SENDER, PUSHED = "000.00.00.H26", "000.00.00.G22"


async def test_each_failed_attempt_is_logged_with_recipient_delivery_and_error(hub: Hub) -> None:
    sender = await hub.add(SENDER)
    await hub.add(PUSHED, mode="push")
    response = await hub.submit(sender, sender.package([PUSHED]))
    assert response.status_code == 202
    delivery_id = response.json()["recipients"][0]["delivery_id"]
    hub.members.failures[PUSHED] = 2
    worker = hub.worker(push_max_attempts=2)
    with capture_logs() as lines:
        assert await worker.run_once() == 1
        await hub.make_due()
        assert await worker.run_once() == 1
    failed = [line for line in lines if line["event"] == "push failed"]
    assert [(f["attempt"], f["outcome"]) for f in failed] == [(1, "error"), (2, "failed")]
    for line in failed:
        assert line["log_level"] == "warning"
        assert line["recipient"] == PUSHED and line["delivery_id"] == delivery_id
        assert line["kind"] == "document" and line["error"].startswith("HTTP 503")
