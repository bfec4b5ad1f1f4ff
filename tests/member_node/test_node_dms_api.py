"""The node's DMS API over HTTP: the feed and its cursor, taking, statuses, recalls, OpenAPI."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

from tests.member_node.conftest import (
    HEADER,
    RECIPIENT,
    SENDER,
    RunningNode,
    StartNode,
    eventually,
)

SAMPLE_PDF = (Path(__file__).resolve().parents[2] / "docs/samples/qd274.pdf").read_bytes()
"""A real (unsigned) PDF: the principal PDF of a package is read, and must be a PDF."""
PDF = {
    "name": "qd.pdf",
    "media_type": "application/pdf",
    "content": base64.b64encode(SAMPLE_PDF).decode(),
}
UNKNOWN = "0f0f0f0f-0000-4000-8000-000000000000"


def problem(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.status_code, response.json()["code"]


async def send(sender: RunningNode) -> str:
    answer = await sender.http.post(
        "/local/documents", json={"recipients": [RECIPIENT], "header": HEADER, "files": [PDF]}
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["document_id"])


async def arrived(node: RunningNode, *document_ids: str) -> None:
    """Wait until the hub's pushes of `document_ids` reached `node`."""

    async def stored() -> bool:
        return all(node.context.store.received(d) is not None for d in document_ids)

    await eventually(stored)


async def feed(node: RunningNode, after: int = 0, **params: Any) -> dict[str, Any]:
    response = await node.http.get("/local/feed", params={"after": after, **params})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def wait_for_status(node: RunningNode, after: int, code: str) -> dict[str, Any]:
    """The first status item with `code` in `node`'s feed after `after`."""
    found: dict[str, Any] = {}

    async def arrived() -> bool:
        for item in (await feed(node, after))["items"]:
            if item["kind"] == "status" and item["status"]["code"] == code:
                found.update(item)
                return True
        return False

    await eventually(arrived)
    return found


async def test_the_feed_pages_new_documents_and_statuses_by_a_stable_cursor(
    start_node: StartNode,
) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(RECIPIENT)
    empty = await feed(recipient)
    assert empty == {"items": [], "next_cursor": 0}
    first = await send(sender)
    await arrived(recipient, first)
    second = await send(sender)
    await arrived(recipient, second)
    page = await feed(recipient, limit=1)
    [item] = page["items"]
    assert item["kind"] == "document" and item["document_id"] == first
    assert item["document"]["sender"] == SENDER and item["document"]["compliant"] is True
    assert page["next_cursor"] == item["cursor"]
    rest = await feed(recipient, page["next_cursor"])
    assert [i["document_id"] for i in rest["items"]] == [second]
    assert rest["items"][0]["cursor"] > item["cursor"]
    # the same cursor again: the same items; past the end: nothing, and the cursor stays
    assert await feed(recipient, page["next_cursor"]) == rest
    assert await feed(recipient, rest["next_cursor"]) == {
        "items": [],
        "next_cursor": rest["next_cursor"],
    }
    # the recipient's statuses arrive in the sender's feed, after its own cursor
    mark = (await feed(sender))["next_cursor"]
    posted = await recipient.http.post(f"/local/documents/{first}/status", json={"code": "01"})
    assert posted.status_code == 200, posted.text
    assert posted.json()["code"] == "01" and posted.json()["direction"] == "out"
    arrived_first = await recipient.http.post(
        f"/local/documents/{second}/status", json={"code": "01"}
    )
    assert arrived_first.status_code == 200, arrived_first.text
    rejected = await recipient.http.post(
        f"/local/documents/{second}/status", json={"code": "02", "reason": "sai thể thức"}
    )
    assert rejected.status_code == 200, rejected.text
    heard = await wait_for_status(sender, mark, "02")
    assert heard["document_id"] == second
    assert heard["status"]["reason"] == "sai thể thức" and heard["status"]["member"] == RECIPIENT
    trace = await sender.context.client.trace(second)
    assert [(s.code.value, s.reason) for s in trace.deliveries[0].statuses] == [
        ("01", None),
        ("02", "sai thể thức"),
    ]
    # a status the hub refuses keeps the hub's status and code
    late = await recipient.http.post(f"/local/documents/{second}/status", json={"code": "03"})
    assert problem(late) == (409, "status_after_rejection")


async def test_documents_are_marked_taken_once(start_node: StartNode) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(RECIPIENT)
    document_id = await send(sender)
    await arrived(recipient, document_id)
    untaken = (await recipient.http.get("/local/inbox", params={"taken": "false"})).json()
    assert [d["id"] for d in untaken["documents"]] == [document_id]
    assert untaken["documents"][0]["taken_at"] is None
    taken = await recipient.http.post(f"/local/documents/{document_id}/taken")
    assert taken.status_code == 200, taken.text
    first_time = taken.json()["taken_at"]
    assert first_time is not None
    again = await recipient.http.post(f"/local/documents/{document_id}/taken")
    assert again.json()["taken_at"] == first_time
    assert (await recipient.http.get("/local/inbox?taken=false")).json()["documents"] == []
    listed = (await recipient.http.get("/local/inbox?taken=true")).json()["documents"]
    assert [d["id"] for d in listed] == [document_id]
    # the feed shows the document as it is now
    assert (await feed(recipient))["items"][0]["document"]["taken_at"] == first_time


async def test_the_dms_answers_a_recall_and_the_sender_hears_it(start_node: StartNode) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(RECIPIENT)  # no clerk: the DMS answers
    agreed, refused = await send(sender), await send(sender)
    await arrived(recipient, agreed, refused)
    early = await recipient.http.post(
        f"/local/documents/{agreed}/recall-answer", json={"answer": "agree"}
    )
    assert problem(early) == (409, "no_recall_requested")
    for document_id in (agreed, refused):  # accepted: a recall now needs an answer
        for code in ("01", "03"):
            posted = await recipient.http.post(
                f"/local/documents/{document_id}/status", json={"code": code}
            )
            assert posted.status_code == 200, posted.text
    mark = (await feed(recipient))["next_cursor"]
    sender_mark = (await feed(sender))["next_cursor"]
    for document_id in (agreed, refused):
        recalled = await sender.http.post(f"/local/documents/{document_id}/recall")
        assert recalled.status_code == 200, recalled.text
        assert recalled.json()["recalled_at"] is not None
    heard = await wait_for_status(recipient, mark, "13")
    assert heard["document_id"] in (agreed, refused)
    await wait_for_status(recipient, heard["cursor"], "13")
    answer = await recipient.http.post(
        f"/local/documents/{agreed}/recall-answer", json={"answer": "agree"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["code"] == "15"
    listing = (await recipient.http.get("/local/inbox")).json()["documents"]
    assert [d["id"] for d in listing] == [refused]  # the agreed one is deleted
    view = (await recipient.http.get(f"/local/documents/{agreed}")).json()
    assert view["package"] is None and view["recalled_at"] is not None
    twice = await recipient.http.post(
        f"/local/documents/{agreed}/recall-answer", json={"answer": "refuse", "reason": "x"}
    )
    assert problem(twice) == (409, "document_recalled")
    late = await recipient.http.post(f"/local/documents/{agreed}/status", json={"code": "03"})
    assert problem(late) == (409, "document_recalled")
    refusal = await recipient.http.post(
        f"/local/documents/{refused}/recall-answer",
        json={"answer": "refuse", "reason": "đã ban hành"},
    )
    assert refusal.status_code == 200, refusal.text
    assert refusal.json()["code"] == "16"
    again = await recipient.http.post(
        f"/local/documents/{refused}/recall-answer", json={"answer": "agree"}
    )
    assert problem(again) == (409, "recall_already_answered")
    assert (await wait_for_status(sender, sender_mark, "15"))["document_id"] == agreed
    sixteen = await wait_for_status(sender, sender_mark, "16")
    assert sixteen["document_id"] == refused and sixteen["status"]["reason"] == "đã ban hành"


async def test_a_recall_of_a_document_not_yet_accepted_deletes_it_at_once(
    start_node: StartNode,
) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(RECIPIENT)
    document_id = await send(sender)
    await arrived(recipient, document_id)
    assert (await sender.http.post(f"/local/documents/{document_id}/recall")).status_code == 200
    await wait_for_status(recipient, 0, "13")
    assert (await recipient.http.get("/local/inbox")).json()["documents"] == []
    answer = await recipient.http.post(
        f"/local/documents/{document_id}/recall-answer", json={"answer": "agree"}
    )
    assert problem(answer) == (409, "document_recalled")


async def test_bad_input_to_every_new_endpoint_is_a_problem_and_changes_nothing(
    start_node: StartNode,
) -> None:
    sender = await start_node(SENDER)
    recipient = await start_node(RECIPIENT)
    document_id = await send(sender)
    await arrived(recipient, document_id)
    http = recipient.http
    for params in ({"after": -1}, {"after": "abc"}, {"limit": 0}, {"limit": 1001}):
        assert problem(await http.get("/local/feed", params=params)) == (422, "validation_error")
    assert problem(await http.get("/local/inbox", params={"taken": "maybe"}))[0] == 422
    status_url = f"/local/documents/{document_id}/status"
    for body in (
        {"code": "13"},
        {"code": "15"},
        {"code": "99"},
        {"code": 1},
        {},
        {"code": "02"},
        {"code": "02", "reason": ""},
        {"code": "03", "reason": "x" * 2001},
    ):
        assert problem(await http.post(status_url, json=body)) == (422, "validation_error"), body
    not_json = await http.post(
        status_url, content=b"{", headers={"content-type": "application/json"}
    )
    assert problem(not_json)[0] == 422
    fields = (await http.post(status_url, json={"code": "02"})).json()["errors"]
    assert fields and all("field" in f and "message" in f for f in fields)
    assert problem(await http.post(f"/local/documents/{UNKNOWN}/status", json={"code": "01"})) == (
        404,
        "document_not_found",
    )
    # a document this node sent is not one it can post statuses on
    assert problem(
        await sender.http.post(f"/local/documents/{document_id}/status", json={"code": "01"})
    ) == (404, "document_not_found")
    answer_url = f"/local/documents/{document_id}/recall-answer"
    for body in ({"answer": "maybe"}, {}, {"answer": "agree", "reason": ""}):
        assert problem(await http.post(answer_url, json=body)) == (422, "validation_error")
    assert problem(
        await http.post(f"/local/documents/{UNKNOWN}/recall-answer", json={"answer": "agree"})
    ) == (404, "document_not_found")
    assert problem(await http.post(f"/local/documents/{UNKNOWN}/taken")) == (
        404,
        "document_not_found",
    )
    # only the sender recalls, and only what it sent
    assert problem(await http.post(f"/local/documents/{document_id}/recall")) == (
        404,
        "document_not_found",
    )
    assert problem(await sender.http.post(f"/local/documents/{UNKNOWN}/recall")) == (
        404,
        "document_not_found",
    )
    # nothing of that changed the state
    assert [i["kind"] for i in (await feed(recipient))["items"]] == ["document"]
    assert (await http.get(f"/local/documents/{document_id}")).json()["statuses"] == []
    assert (await http.get("/local/inbox?taken=false")).json()["documents"][0]["id"] == document_id
    trace = await sender.context.client.trace(document_id)
    assert trace.recalled_at is None and trace.deliveries[0].statuses == []


async def test_the_node_publishes_its_own_openapi_with_problem_answers(
    start_node: StartNode,
) -> None:
    node = await start_node(SENDER)
    response = await node.http.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"].startswith("lienthong member node")
    paths = spec["paths"]
    for path in (
        "/local/documents",
        "/local/inbox",
        "/local/feed",
        "/local/documents/{document_id}",
        "/local/documents/{document_id}/taken",
        "/local/documents/{document_id}/status",
        "/local/documents/{document_id}/recall-answer",
        "/local/documents/{document_id}/recall",
        "/v1/inbox",
        "/v1/status",
    ):
        assert path in paths, path
    schemas = spec["components"]["schemas"]
    assert {"Problem", "FeedPage", "FeedItem", "PostStatus", "RecallAnswer", "InboxItem"} <= set(
        schemas
    )
    assert "HTTPValidationError" not in schemas
    for path, operations in paths.items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert any(s.startswith("2") for s in answers), (path, method)
            ok = next(s for s in answers if s.startswith("2"))
            assert "schema" in answers[ok]["content"]["application/json"], (path, method)
            errors = [s for s in answers if s[0] in "45"]
            assert errors, (path, method)
            for status in errors:
                content = answers[status]["content"]
                assert list(content) == ["application/problem+json"], (path, method, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
            if path.startswith("/v1/"):
                assert operation["security"] == [{"hubBearer": []}]
                assert "401" in answers
            else:
                assert "security" not in operation
    status_codes = schemas["PostStatus"]["properties"]["code"]["enum"]
    assert status_codes == ["01", "02", "03", "04", "05", "06"]
