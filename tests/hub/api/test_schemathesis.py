"""Schemathesis over the hub's whole OpenAPI, in process: no 5xx, nothing undocumented.

Three runs, one per caller: a member with its bearer JWT, an admin operator and
nobody. Each gets a hub of its own (fresh SQLite, the test PKI, no background
worker) served through schemathesis' ASGI transport, with every check, every
phase and a fixed seed. `LIENTHONG_SCHEMATHESIS_EXAMPLES` raises the examples
per operation for a longer local run (default 12, which keeps CI to a few minutes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import HealthCheck
from schemathesis.engine import events
from schemathesis.engine import from_schema as engine_for
from schemathesis.python import asgi

from hub.app import create_app
from hub.settings import HubSettings
from registry.db import create_engine, session_factory
from registry.operators import create_operator
from signing.certs import cert_to_pem
from signing.jose import mint_token
from tests.conftest import HUB_ID, PKIFixture, run_sync

BEYOND_THE_SCHEMA = {
    "parent_not_found": "a member's parent must be registered first (the registry's state)",
    "parent_mismatch": "`parent` must be the parent the code implies (two fields together)",
    "invalid_certificate": "the PEM must hold a certificate the national CA issued",
    "untrusted_certificate": "the certificate must chain to this hub's national root (its trust"
    " store): the documented example's comes from the published test vectors' CA",
    "invalid_usage": "a certificate must be for signing, auth or both (two fields together)",
    "endpoint_required": "push delivery needs an endpoint (two fields, or one and the stored one)",
    "unknown_member": "a report's sender must be a registered member (the registry's state)",
    "invalid_window": "a report's `since` must not be after its `until` (two parameters)",
    "directory_version_unknown": "a directory `since` the hub has reached (the registry's state)",
    "unknown_recipient": "a package's recipients must be registered members (the registry's state)",
    "sender_mismatch": "a package's sender must be the member calling (the caller's identity)",
    "sender_among_recipients": "the sender cannot be one of its recipients (two fields together)",
    "attachment_digest_mismatch": "an attachment's content must match its size and sha256 "
    "(several fields together)",
    "invalid_attachment_name": "an attachment name must hold no path separator or control "
    "character (Unicode categories, which a portable pattern cannot name)",
    **{
        code: "an XML body is bytes to JSON Schema: well-formedness, our XSD, the signature form"
        for code in (
            "edxml_not_well_formed",
            "edxml_schema_invalid",
            "edxml_dtd_forbidden",
            "edxml_entity_forbidden",
            "edxml_signature_wrapping",
            "edxml_duplicate_header",
            "edxml_bad_base64",
            "edxml_invalid_value",
            "edxml_unmappable",
        )
    },
}
"""Problem codes of a schema-valid request the hub rightly refuses with 400/422: each rule is
about state, several fields together, or an XML body's structure, which JSON Schema cannot
say. `positive_data_acceptance` failures with these codes are expected; any other 422
(`validation_error` above all) means the schema and the code disagree."""

EXAMPLES = int(os.environ.get("LIENTHONG_SCHEMATHESIS_EXAMPLES", "12"))
SEED = 20240312
MEMBER = "000.00.00.H26"


@dataclass
class Findings:
    requests: int = 0
    operations: set[str] = field(default_factory=set)
    failures: dict[tuple[str, str, int | None, str], str] = field(default_factory=dict)
    """One example per (operation, check, status, title)."""
    expected_refusals: int = 0
    """Schema-valid requests refused for a reason in `BEYOND_THE_SCHEMA`."""
    errors: list[str] = field(default_factory=list)


def _admin_token(database_url: str) -> str:
    async def make() -> str:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine).begin() as session:
                _, token = await create_operator(session, "schemathesis-admin", "admin")
        finally:
            await engine.dispose()
        return token

    return run_sync(make)


def _register_member(app: Any, admin: dict[str, str], pki: PKIFixture) -> str:
    """A pull member with an organisation certificate; its bearer JWT."""
    org = pki.issue_member(MEMBER)
    with asgi.get_client(app) as client:
        response = client.post(
            "/v1/admin/members",
            json={"code": MEMBER, "name": "UBND tỉnh Hưng Yên", "kind": "other"},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        response = client.post(
            f"/v1/admin/members/{MEMBER}/certificates",
            json={"certificate": cert_to_pem(org.cert).decode()},
            headers=admin,
        )
        assert response.status_code == 201, response.text
    # 300 s is the most a member token may live; the run is shorter than that per token use
    return mint_token(org.key, org.cert, iss=MEMBER, aud=HUB_ID)


def _problem_code(interaction: Any) -> str | None:
    import json

    try:
        body = json.loads(interaction.response.content or b"")
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _problem_fields(interaction: Any) -> str:
    """The fields a problem names, to tell one refusal from another in the report."""
    import json

    try:
        errors = json.loads(interaction.response.content or b"").get("errors") or []
    except (ValueError, AttributeError):
        return ""
    return f": {sorted({str(e.get('field')) for e in errors})}" if errors else ""


def _run(app: Any, headers: dict[str, str]) -> Findings:
    config = schemathesis.Config()
    config.update(seed=SEED, max_failures=None)
    project = config.projects.override
    # The package schema (agency-code and UUID patterns inside nested arrays) makes
    # hypothesis discard many drafts; that health check is about generation speed,
    # not about the hub, so it does not fail the run.
    project.update(
        headers=headers,
        continue_on_failure=True,
        suppress_health_check=[HealthCheck.filter_too_much],
    )
    project.checks.update(included_check_names=["all"])
    project.generation.update(max_examples=EXAMPLES, deterministic=True, database="none")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    findings = Findings()
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            findings.requests += len(recorder.interactions)
            findings.operations.add(recorder.label)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    interaction = recorder.interactions.get(case_id)
                    status = (
                        interaction.response.status_code
                        if interaction is not None and interaction.response is not None
                        else None
                    )
                    title = failure.title
                    if status in (400, 422) and interaction is not None:
                        code = _problem_code(interaction)
                        if check.name == "positive_data_acceptance" and code in BEYOND_THE_SCHEMA:
                            findings.expected_refusals += 1
                            continue
                        title += f" ({code}{_problem_fields(interaction)})"
                    key = (recorder.label, check.name, status, title)
                    findings.failures.setdefault(
                        key, f"{failure.message}\n{check.failure_info.code_sample}"
                    )
        elif isinstance(event, events.NonFatalError):
            findings.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            findings.errors.append(repr(event.exception))
    return findings


@pytest.fixture
def hub_for_schemathesis(tmp_path: Path, pki: PKIFixture, sqlite_template: Path) -> Iterator[Any]:
    import shutil

    path = tmp_path / "lienthong.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    settings = HubSettings(
        data_dir=tmp_path,
        database_url=url,
        pki_dir=pki.directory,
        hub_id=HUB_ID,
        delivery_worker=False,
        eventlog_sealer=False,
        # generated `wait=S` long polls would each hold their request up to 60 s
        long_poll_max_seconds=0.05,
    )
    app = create_app(settings)
    app.state.admin_token = _admin_token(url)
    try:
        yield app
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.parametrize("caller", ["member", "admin", "anonymous"])
def test_the_hub_keeps_its_openapi_contract(
    caller: str, hub_for_schemathesis: Any, pki: PKIFixture
) -> None:
    app = hub_for_schemathesis
    admin = {"Authorization": f"Bearer {app.state.admin_token}"}
    token = _register_member(app, admin, pki)
    headers = {
        "member": {"Authorization": f"Bearer {token}"},
        "admin": admin,
        "anonymous": {},
    }[caller]
    findings = _run(app, headers)
    print(
        f"schemathesis as {caller}: {findings.requests} requests over "
        f"{len(findings.operations)} operations, {len(findings.failures)} failures, "
        f"{findings.expected_refusals} refusals beyond the schema"
    )
    assert not findings.errors, "\n".join(findings.errors)
    # every operation of the document was exercised (a run that generated nothing passes no check)
    documented = {
        f"{method.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        for method in item
    }
    assert documented <= findings.operations, documented - findings.operations
    assert findings.requests >= 10 * len(documented)
    assert not findings.failures, "\n\n".join(
        f"{label} [{check}] {status} {title}: {example}"
        for (label, check, status, title), example in sorted(
            findings.failures.items(), key=lambda item: str(item[0])
        )
    )
