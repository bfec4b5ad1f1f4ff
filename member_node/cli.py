"""`lienthong node ...`: run an agency's node, send a document, read the inbox.

Every command finds the node's keys in `--keys` (default `var/nodes/CODE/keys`,
layout in `member_node.identity`) and its database in `--data` (default
`var/nodes/CODE`). The hub's URL and id come from `--hub`/`--hub-id` or the
`LIENTHONG_HUB_URL`/`LIENTHONG_HUB_ID` environment variables. Keys on a
PKCS#11 token: `--pkcs11-module`, `--pkcs11-token`, `--pkcs11-org-key`,
`--pkcs11-official-key` (or `LIENTHONG_PKCS11_*`), the PIN in `LIENTHONG_PKCS11_PIN`.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from member_node.defaults import DEFAULT_HUB_ID, DEFAULT_HUB_URL, default_home

if TYPE_CHECKING:
    from member_node.identity import NodeIdentity, TokenKeys

# The node's modules (httpx, cryptography, pydantic, the web app) are imported inside the
# commands, so `--help` stays fast.

node_app = typer.Typer(help="An agency's member node.", no_args_is_help=True)

Code = Annotated[str, typer.Option("--code", help="This agency's code, e.g. 000.00.00.H26")]
Hub = Annotated[str, typer.Option("--hub", envvar="LIENTHONG_HUB_URL", help="The hub's base URL")]
HubId = Annotated[
    str, typer.Option("--hub-id", envvar="LIENTHONG_HUB_ID", help="The hub's id (token aud)")
]
Keys = Annotated[Path | None, typer.Option("--keys", help="Keys directory [var/nodes/CODE/keys]")]
Data = Annotated[Path | None, typer.Option("--data", help="Node data directory [var/nodes/CODE]")]
Pkcs11Module = Annotated[
    str | None,
    typer.Option(
        "--pkcs11-module",
        envvar="LIENTHONG_PKCS11_MODULE",
        help="PKCS#11 module of the token holding keys (PIN in LIENTHONG_PKCS11_PIN)",
    ),
]
Pkcs11Token = Annotated[
    str | None,
    typer.Option("--pkcs11-token", envvar="LIENTHONG_PKCS11_TOKEN", help="The token's label"),
]
Pkcs11OrgKey = Annotated[
    str | None,
    typer.Option(
        "--pkcs11-org-key",
        envvar="LIENTHONG_PKCS11_ORG_KEY",
        help="Label of the organisation's key on the token (instead of org.key)",
    ),
]
Pkcs11OfficialKey = Annotated[
    str | None,
    typer.Option(
        "--pkcs11-official-key",
        envvar="LIENTHONG_PKCS11_OFFICIAL_KEY",
        help="Label of the official's key on the token (instead of official.key)",
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _token_keys(
    module: str | None = None,
    token: str | None = None,
    org_key: str | None = None,
    official_key: str | None = None,
) -> TokenKeys | None:
    """The PKCS#11 keys from the options, else from `LIENTHONG_PKCS11_*`."""
    from member_node.identity import IdentityError, TokenKeys

    try:
        return TokenKeys.from_env(
            module=module, token=token, org_key=org_key, official_key=official_key
        )
    except IdentityError as exc:
        raise _fail(str(exc), 2) from exc


def _identity(code: str, keys: Path | None, tokens: TokenKeys | None = None) -> NodeIdentity:
    from member_node.identity import IdentityError, NodeIdentity

    try:
        return NodeIdentity.load(
            keys or default_home(code) / "keys", code, tokens=tokens or _token_keys()
        )
    except IdentityError as exc:
        raise _fail(str(exc), 2) from exc


@node_app.command()
def serve(
    code: Code,
    hub: Hub = DEFAULT_HUB_URL,
    keys: Keys = None,
    data: Data = None,
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8100,
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 to take pushes)")] = (
        "127.0.0.1"
    ),
    mode: Annotated[str, typer.Option(help="push (the hub calls us) | pull (we poll)")] = "push",
    hub_id: HubId = DEFAULT_HUB_ID,
    poll_interval: Annotated[float, typer.Option(help="Seconds between polls (pull)")] = 2.0,
    clerk: Annotated[bool, typer.Option(help="Run the simulated clerk")] = True,
    clerk_delay: Annotated[
        float | None, typer.Option(help="Seconds before each of 03/04/05/06 [0.5,0.5,0.5,1]")
    ] = None,
    require_compliant: Annotated[
        bool, typer.Option(help="The clerk rejects (02) non-compliant documents")
    ] = False,
    recall_answer: Annotated[str, typer.Option(help="agree (15) | refuse (16)")] = "agree",
    pkcs11_module: Pkcs11Module = None,
    pkcs11_token: Pkcs11Token = None,
    pkcs11_org_key: Pkcs11OrgKey = None,
    pkcs11_official_key: Pkcs11OfficialKey = None,
) -> None:
    """Run the node service: `/v1/inbox`, `/v1/status` for the hub, `/local/...` for the DMS."""
    import uvicorn

    from member_node.app import create_node_app
    from member_node.clerk import DEFAULT_STEPS, ClerkRules
    from member_node.config import NodeConfig

    if mode not in ("push", "pull"):
        raise _fail("--mode is push or pull", 2)
    if recall_answer not in ("agree", "refuse"):
        raise _fail("--recall-answer is agree or refuse", 2)
    tokens = _token_keys(pkcs11_module, pkcs11_token, pkcs11_org_key, pkcs11_official_key)
    _identity(code, keys, tokens)  # fail early and clearly
    steps = (
        DEFAULT_STEPS if clerk_delay is None else tuple((c, clerk_delay) for c, _ in DEFAULT_STEPS)
    )
    config = NodeConfig(
        code=code,
        hub_url=hub,
        keys_dir=keys or default_home(code) / "keys",
        data_dir=data or default_home(code),
        mode="push" if mode == "push" else "pull",
        poll_interval=poll_interval,
        hub_id=hub_id,
        clerk=ClerkRules(
            enabled=clerk,
            steps=steps,
            require_compliant=require_compliant,
            recall_answer="refuse" if recall_answer == "refuse" else "agree",
        ),
        tokens=tokens,
    )
    uvicorn.run(create_node_app(config), host=host, port=port, log_level="info")


@node_app.command()
def send(
    code: Code,
    to: Annotated[str | None, typer.Option("--to", help="Recipient codes, comma-separated")] = None,
    subject: Annotated[str | None, typer.Option(help="The document's subject (trích yếu)")] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", help="An attachment (repeatable)", exists=True),
    ] = None,
    edxml: Annotated[
        Path | None,
        typer.Option(
            "--edxml",
            help="Send this edXML envelope as it is (recipients and content from it); "
            "signed by the organisation first if it is unsigned and --org",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    personal: Annotated[bool, typer.Option("--personal/--no-personal", help="Official signs")] = (
        True
    ),
    org: Annotated[bool, typer.Option("--org/--no-org", help="Organisation signs")] = True,
    number: Annotated[str, typer.Option(help="Document number")] = "1",
    notation: Annotated[str, typer.Option(help="Document notation, e.g. QĐ-UBND")] = "CV",
    doc_type: Annotated[str, typer.Option("--type", help="Document type code")] = "CV",
    place: Annotated[str, typer.Option(help="Place of promulgation")] = "Hà Nội",
    hub: Hub = DEFAULT_HUB_URL,
    hub_id: HubId = DEFAULT_HUB_ID,
    keys: Keys = None,
    data: Data = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hub's answer as JSON")] = (
        False
    ),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the document id (for scripts)")
    ] = False,
    pkcs11_module: Pkcs11Module = None,
    pkcs11_token: Pkcs11Token = None,
    pkcs11_org_key: Pkcs11OrgKey = None,
    pkcs11_official_key: Pkcs11OfficialKey = None,
) -> None:
    """Sign a document (official, then organisation) and submit it to the hub.

    With `--edxml FILE`, submit an edXML envelope instead (`--to`, `--subject`
    and `--file` are then not used).
    """
    identity = _identity(
        code,
        keys,
        _token_keys(pkcs11_module, pkcs11_token, pkcs11_org_key, pkcs11_official_key),
    )
    home = data or default_home(code)
    if edxml is not None:
        answer = _send_edxml(identity, edxml, org, hub, hub_id, home)
        _print_answer(answer, as_json, quiet)
        return
    if to is None or subject is None or not file:
        raise _fail("--to, --subject and --file are needed (or --edxml FILE)", 2)
    header = _header(identity, subject, number, notation, doc_type, place)
    recipients = [c.strip() for c in to.split(",") if c.strip()]
    files = [
        (f.name, mimetypes.guess_type(f.name)[0] or "application/octet-stream", f.read_bytes())
        for f in file
    ]
    answer = _send_package(identity, hub, hub_id, home, recipients, header, files, (personal, org))
    _print_answer(answer, as_json, quiet)


def _header(
    identity: NodeIdentity, subject: str, number: str, notation: str, doc_type: str, place: str
) -> dict[str, Any]:
    """The document's header, dated today, signed for by the official's certificate."""
    import datetime as dt

    from signing.certs import common_name_of, title_of

    official = identity.official
    signer_name = (common_name_of(official.certificate) if official else None) or identity.code
    return {
        "code": {"number": number, "notation": notation},
        "promulgation": {"place": place, "date": dt.date.today().isoformat()},
        "type": doc_type,
        "subject": subject,
        "signer": {
            "name": signer_name,
            "position": (title_of(official.certificate) if official else None),
        },
    }


def _send_package(
    identity: NodeIdentity,
    hub: str,
    hub_id: str,
    home: Path,
    recipients: list[str],
    header: dict[str, Any],
    files: list[tuple[str, str, bytes]],
    signers: tuple[bool, bool],
) -> dict[str, Any]:
    """Sign (official, organisation, as `signers` says), submit, and note it as sent."""
    from member_node.client import HubClient
    from member_node.errors import HubError
    from member_node.store import NodeStore

    async def run() -> dict[str, Any]:
        async with HubClient(hub, identity, hub_id=hub_id) as client:
            result = await client.send(
                recipients, header, files, personal=signers[0], organization=signers[1]
            )
        answer = result.model_dump(mode="json")
        store = NodeStore(home / "node.db")
        store.add_sent(result.document_id, recipients, header["subject"], answer)
        store.close()
        return answer

    try:
        return asyncio.run(run())
    except HubError as exc:
        raise _fail(f"{exc.code}: {exc.detail}") from exc


def _send_edxml(
    identity: NodeIdentity, path: Path, sign: bool, hub: str, hub_id: str, home: Path
) -> dict[str, Any]:
    """Submit the edXML envelope at `path` (organisation-signed first if unsigned)."""
    from member_node.client import HubClient
    from member_node.errors import HubError
    from member_node.store import NodeStore
    from signing.edxml import EdxmlError, edxml_to_package, sign_envelope

    envelope = path.read_bytes()
    try:
        package = edxml_to_package(envelope)
        if sign and not _is_signed(envelope):
            org = identity.organization
            envelope = sign_envelope(envelope, org.key, org.chain)
    except EdxmlError as exc:
        raise _fail(f"{exc.code}: {exc.detail}", 2) from exc

    async def run() -> dict[str, Any]:
        async with HubClient(hub, identity, hub_id=hub_id) as client:
            result = await client.send_edxml(envelope)
        answer = result.model_dump(mode="json")
        store = NodeStore(home / "node.db")
        store.add_sent(result.document_id, package.recipients, package.header.subject, answer)
        store.close()
        return answer

    try:
        return asyncio.run(run())
    except HubError as exc:
        raise _fail(f"{exc.code}: {exc.detail}") from exc


def _is_signed(envelope: bytes) -> bool:
    from lxml import etree

    from signing.edxml.parse import DS, read_document

    return (
        next(read_document(envelope).root.iter(etree.QName(DS, "Signature").text), None) is not None
    )


def _print_answer(answer: dict[str, Any], as_json: bool, quiet: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    if quiet:
        typer.echo(answer["document_id"])
        return
    verdict = answer["verdict"]
    typer.echo(f"document {answer['document_id']}")
    typer.echo(
        "verdict: compliant"
        if verdict["compliant"]
        else "verdict: NOT compliant: " + ", ".join(verdict["violations"])
    )
    for line in answer["recipients"]:
        reasons = f" ({', '.join(line['reasons'])})" if line["reasons"] else ""
        typer.echo(f"  {line['recipient']}: {line['outcome']}{reasons}")


@node_app.command()
def inbox(
    code: Code,
    data: Data = None,
    pull: Annotated[bool, typer.Option(help="Poll the hub once first (pull members)")] = False,
    hub: Hub = DEFAULT_HUB_URL,
    hub_id: HubId = DEFAULT_HUB_ID,
    keys: Keys = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many to list")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List the documents this node received, newest first."""
    from member_node.client import HubClient
    from member_node.errors import HubError
    from member_node.poller import Poller
    from member_node.receiver import Receiver
    from member_node.store import NodeStore

    store = NodeStore((data or default_home(code)) / "node.db")
    try:
        if pull:
            identity = _identity(code, keys)

            async def poll() -> None:
                async with HubClient(hub, identity, hub_id=hub_id) as client:
                    await Poller(client, Receiver(identity, store), store).poll_once()

            try:
                asyncio.run(poll())
            except HubError as exc:
                raise _fail(f"{exc.code}: {exc.detail}") from exc
        documents = [d.summary() for d in store.inbox(limit)]
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(documents, ensure_ascii=False, indent=2))
        return
    if not documents:
        typer.echo("no documents")
    for d in documents:
        mark = "compliant" if d["compliant"] else "NOT compliant: " + ",".join(d["violations"])
        typer.echo(f"{d['received_at']}  {d['id']}  from {d['sender']}  {d['subject']}  [{mark}]")


def _media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
