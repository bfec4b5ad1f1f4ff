"""The hub judges LATE_DISPATCH on its configured working-day calendar (`workdays_file`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hub.app import create_app
from signing.package import new_package
from signing.sign import sign_package
from signing.verify import verify_package
from signing.workdays import VIETNAM_TZ, CalendarFileError
from tests.hub.conftest import Hub
from tests.hub.helpers import HEADER, PDF

SIGNED_AT = (dt.datetime.now(VIETNAM_TZ) - dt.timedelta(days=8)).replace(microsecond=0)


@pytest.fixture
def hub_overrides(tmp_path: Path) -> dict[str, Any]:
    # every day from the day after signing to tomorrow announced as a day off
    first = SIGNED_AT.date() + dt.timedelta(days=1)
    days = [first + dt.timedelta(days=n) for n in range(10)]
    lines = ["# announced by the government", *(f"{day} off  extended break" for day in days)]
    path = tmp_path / "workdays.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"workdays_file": path}


async def test_announced_days_off_are_not_counted(hub: Hub) -> None:
    sender = await hub.add("000.00.00.H26")
    await hub.add("000.00.00.G22")
    pkg = new_package(sender.code, ["000.00.00.G22"], HEADER, [PDF])
    pkg = sign_package(pkg, sender.official.key, sender.official.full_chain, "personal", SIGNED_AT)
    pkg = sign_package(pkg, sender.org.key, sender.org.full_chain, "organization", SIGNED_AT)
    response = await hub.submit(sender, pkg)
    assert response.status_code == 202, response.text
    assert "LATE_DISPATCH" not in response.json()["verdict"]["violations"]
    # without the announcements, eight days later is late
    assert hub.context.ingest.calendar.days_off
    plain = verify_package(pkg, hub.context.identity.trust, received_at=dt.datetime.now(dt.UTC))
    assert "LATE_DISPATCH" in plain.violations


async def test_a_bad_workdays_file_stops_the_start(hub_settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("2025-02-30 off\n", encoding="utf-8")
    app = create_app(hub_settings.model_copy(update={"workdays_file": path}))
    with pytest.raises(CalendarFileError, match="line 1"):
        async with app.router.lifespan_context(app):
            pass
