"""`lienthong log prove SEQ --keys DIR`: a member proves an entry about itself against the
pinned hub certificate, from a shell; bad input is one line and exit 2."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from lienthong.cli import app
from tests.member_node.conftest import RECIPIENT, SENDER
from tests.member_node.test_cli import LiveHub, live_hub, pdf  # noqa: F401  (fixtures)

runner = CliRunner()


@pytest.fixture
def hub_settings(hub_settings: Any) -> Any:
    """The shared settings, the event log's heads signed at once (a proof needs one)."""
    return hub_settings.model_copy(update={"eventlog_head_every_seconds": 0.1})


def _keys(options: list[str]) -> list[str]:
    return options[options.index("--keys") : options.index("--keys") + 2]


def _accepted_seq(hub: LiveHub, options: list[str], document_id: str) -> int:
    """The `seq` of the document's acceptance, once the sealer has put it in the chain."""
    token = runner.invoke(app, ["token", *_keys(options), "--hub-id", hub.hub_options()[-1]])
    headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=hub.url, headers=headers) as http:
        while True:
            found = http.get("/v1/eventlog/entries", params={"subject": document_id}).json()
            seqs = [e["seq"] for e in found["entries"] if e["kind"] == "document.accepted"]
            if seqs:
                return int(seqs[0])
            assert time.monotonic() < deadline, "the entry was not sealed"
            time.sleep(0.1)


def _prove(hub: LiveHub, options: list[str], *args: str) -> Any:
    return runner.invoke(app, ["log", "prove", *args, *_keys(options), *hub.hub_options()])


def test_a_member_proves_its_document_was_logged(live_hub: LiveHub, pdf: Path) -> None:  # noqa: F811
    sender, _ = live_hub.agency(SENDER), live_hub.agency(RECIPIENT)
    sent = runner.invoke(
        app,
        [
            "node",
            "send",
            *sender,
            *live_hub.hub_options(),
            "--to",
            RECIPIENT,
            "--number",
            "12",
            "--notation",
            "CV-UBND",
            "--type",
            "CV",
            "--subject",
            "Họp giao ban",
            "--file",
            str(pdf),
            "--quiet",
        ],
    )
    assert sent.exit_code == 0, sent.output
    document_id = sent.stdout.strip()
    seq = _accepted_seq(live_hub, sender, document_id)
    deadline = time.monotonic() + 20
    while (proved := _prove(live_hub, sender, str(seq))).exit_code != 0:
        assert "eventlog_entry_unsigned" in proved.output, proved.output
        assert time.monotonic() < deadline, "no head covered the entry"
        time.sleep(0.2)
    assert proved.stdout.startswith(f"entry {seq} document.accepted {document_id} at ")
    assert "proved in the head signed at" in proved.stdout
    as_json = json.loads(_prove(live_hub, sender, str(seq), "--json").stdout)
    assert (as_json["entry"]["seq"], as_json["entry"]["subject"]) == (seq, document_id)
    other = live_hub.agency("000.00.00.H62")
    refused = _prove(live_hub, other, str(seq))
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: eventlog_entry_not_found")


@pytest.mark.parametrize("seq", ["0", "abc", "1.5", str(2**63)])
def test_a_bad_entry_number_is_one_line_and_exit_2(seq: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["log", "prove", seq, "--keys", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: SEQ must be")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_keys_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["log", "prove", "5", "--keys", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
