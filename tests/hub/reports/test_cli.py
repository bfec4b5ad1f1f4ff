"""`lienthong report compliance|delivery` against a hub's database."""

from __future__ import annotations

import csv
import io
import json

import anyio.to_thread
from typer.testing import CliRunner, Result

from lienthong.cli import app
from tests.hub.conftest import Hub
from tests.hub.reports.scenario import G22, H26, load_scenario


async def _invoke(*args: str) -> Result:
    return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(app, list(args)))


async def test_report_commands_print_the_api_figures(hub: Hub, database_url: str) -> None:
    await load_scenario(hub.client, hub.agencies)
    db = ["--database-url", database_url]
    as_json = await _invoke("report", "compliance", "--format", "json", *db)
    assert as_json.exit_code == 0, as_json.output
    api = await hub.client.get("/v1/reports/signature-compliance", headers=hub.admin)
    assert json.loads(as_json.output) == api.json()

    to_g22 = await _invoke("report", "compliance", "--recipient", G22, "--format", "csv", *db)
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(to_g22.output))}
    assert rows[H26]["documents"] == "3" and rows["total"]["documents"] == "4"

    text = await _invoke("report", "compliance", "--since", "2000-01-01", *db)
    assert text.exit_code == 0 and "UBND tỉnh Hưng Yên" in text.output and "66.7%" in text.output

    delivery = await _invoke("report", "delivery", "--format", "json", *db)
    assert delivery.exit_code == 0, delivery.output
    assert {r["recipient"] for r in json.loads(delivery.output)["recipients"]} >= {G22, H26}
    table = await _invoke("report", "delivery", *db)
    assert table.exit_code == 0 and "late dispatch" in table.output


async def test_bad_input_is_a_clear_error(hub: Hub, database_url: str) -> None:
    db = ["--database-url", database_url]
    unknown = await _invoke("report", "compliance", "--sender", "000.00.00.H99", *db)
    assert unknown.exit_code == 2 and "unknown_member" in unknown.output
    bad_date = await _invoke("report", "delivery", "--since", "yesterday", *db)
    assert bad_date.exit_code == 2
