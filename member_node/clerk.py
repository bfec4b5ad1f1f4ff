"""A simulated clerk: what a recipient agency's staff would do with each document.

On arrival it posts 01, then either rejects (02 with a reason) a document that
breaks its rules, or walks it through 03 accepted, 04 assigned, 05 processing
and 06 completed with a configurable pause before each. Asked to recall, it
deletes the document and answers 15, or refuses with 16, as configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Literal

from hub.protocol import StatusCode
from member_node.client import HubClient
from member_node.errors import HubError
from member_node.store import NodeStore, ReceivedDocument
from signing.edxml import DocumentRef, EdxmlStatus, status_to_edxml
from signing.workdays import VIETNAM_TZ

log = logging.getLogger("member_node.clerk")

DEFAULT_STEPS: tuple[tuple[str, float], ...] = (
    ("03", 0.5),
    ("04", 0.5),
    ("05", 0.5),
    ("06", 1.0),
)


RETRIES = 5
RETRY_SECONDS = 0.5
"""A status the hub could not take (unreachable, 5xx) is posted again after 0.5, 1, 2, … s."""


@dataclass(frozen=True)
class ClerkRules:
    """How one node's clerk behaves; every node of a simulation may differ."""

    enabled: bool = True
    steps: tuple[tuple[str, float], ...] = DEFAULT_STEPS
    """(status code, seconds to wait before posting it), in order, after 01."""
    require_compliant: bool = False
    """Reject (02) every document the node's own verification finds non-compliant."""
    reject_violations: frozenset[str] = field(default_factory=frozenset)
    """Reject documents whose local verdict has any of these violation codes."""
    blocked_senders: frozenset[str] = field(default_factory=frozenset)
    """Reject everything from these senders."""
    recall_answer: Literal["agree", "refuse"] = "agree"

    def rejection(self, document: ReceivedDocument) -> str | None:
        """Why this clerk rejects the document, or None to process it."""
        violations = set(document.local_verdict.get("violations", []))
        if document.sender in self.blocked_senders:
            return f"documents from {document.sender} are not accepted here"
        hit = sorted(violations & self.reject_violations)
        if hit:
            return "signature rules broken: " + ", ".join(hit)
        if self.require_compliant and not document.local_verdict.get("compliant", False):
            return "not compliant with Decree 30: " + ", ".join(sorted(violations))
        return None


class Clerk:
    """Runs each document's status workflow as a background task."""

    def __init__(self, rules: ClerkRules, client: HubClient, store: NodeStore) -> None:
        self.rules = rules
        self.client = client
        self.store = store
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def arrived(self, document: ReceivedDocument) -> None:
        """Start the workflow of a newly received document."""
        if not self.rules.enabled or document.package_id in self._tasks:
            return
        task = asyncio.create_task(self._workflow(document))
        self._tasks[document.package_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(document.package_id, None))

    def recall_requested(self, document_id: str) -> bool:
        """Schedule the answer to a sender's recall; False if the document is unknown or no
        clerk runs (the DMS then answers through `/local/documents/{id}/recall-answer`)."""
        if not self.rules.enabled or self.store.received(document_id) is None:
            return False
        key = "recall:" + document_id
        if key not in self._tasks:
            task = asyncio.create_task(self._answer_recall(document_id))
            self._tasks[key] = task
            task.add_done_callback(lambda _: self._tasks.pop(key, None))
        return True

    async def _answer_recall(self, document_id: str) -> None:
        """Delete the document and post 15, or keep it and post 16 (Decree 30)."""
        if self.rules.recall_answer == "refuse":
            await self._post(document_id, StatusCode.RECALL_REFUSED, "the document is in use")
            return
        workflow = self._tasks.get(document_id)
        if workflow is not None:
            workflow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await workflow
        self.store.mark_recalled(document_id)
        await self._post(document_id, StatusCode.RECALL_AGREED, None)

    async def idle(self) -> None:
        """Wait until every running workflow is done (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _workflow(self, document: ReceivedDocument) -> None:
        doc_id = document.package_id
        if not await self._post(doc_id, StatusCode.ARRIVED, None):
            return
        reason = self.rules.rejection(document)
        if reason is not None:
            await self._post(doc_id, StatusCode.REJECTED, reason)
            return
        for code, delay in self.rules.steps:
            await asyncio.sleep(delay)
            current = self.store.received(doc_id)
            if current is None or current.recalled_at is not None:
                return
            if not await self._post(doc_id, StatusCode(code), None):
                return

    async def _post(self, document_id: str, code: StatusCode, reason: str | None) -> bool:
        """Post one status; a hub that is down or failing (5xx) is tried again."""
        held = self.store.received(document_id)
        message = (
            None
            if held is None or held.edxml is None
            else _edxml_status(held, code, reason, self.client.code)
        )
        for attempt in range(RETRIES + 1):
            try:
                if message is not None:  # an edXML member answers in edXML
                    answer = await self.client.post_edxml_status(document_id, message)
                else:
                    answer = await self.client.post_status(document_id, code, reason=reason)
                break
            except HubError as exc:
                transient = exc.status is None or exc.status >= 500
                if not transient or attempt == RETRIES:
                    log.warning("status %s for %s refused: %s", code.value, document_id, exc)
                    return False
                await asyncio.sleep(RETRY_SECONDS * 2**attempt)
        self.store.add_status(
            document_id,
            self.client.code,
            code.value,
            answer.at.isoformat(),
            reason=reason,
            direction="out",
        )
        return True


def _edxml_status(
    document: ReceivedDocument, code: StatusCode, reason: str | None, reporter: str
) -> bytes:
    """The status as an edXML status message about `document` (named by its package id)."""
    return status_to_edxml(
        EdxmlStatus(
            document=DocumentRef(organ_id=document.sender, document_id=document.package_id),
            organ_id=reporter,
            code=code.value,
            description=reason,
            timestamp=dt.datetime.now(VIETNAM_TZ).replace(microsecond=0).isoformat(),
        )
    )
