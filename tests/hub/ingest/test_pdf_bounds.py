"""The hub's per-package PDF bounds, set in its settings: past one, VALIDATION_LIMIT_EXCEEDED,
and the package is still accepted and routed."""

from __future__ import annotations

import os
from io import BytesIO
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from hub.ingest.pdf_workers import WORKERS, worker_limits
from hub.ingest.pdfs import PdfBounds
from signing.pades.document import make_pdf
from tests.hub.conftest import Hub
from tests.hub.helpers import Agency
from tests.hub.ingest.test_pdf_input import RECIPIENT, SENDER, signed, submit_pdf

MiB = 1024 * 1024


def expanding(decoded: int) -> bytes:
    """A small PDF whose form lives in an object stream that decodes to `decoded` bytes."""
    writer = copy_into_new_writer(
        PdfFileReader(BytesIO(make_pdf(pages=1))), writer_kwargs={"stream_xrefs": True}
    )
    stream = writer.prepare_object_stream()
    padding = writer.add_object(generic.TextStringObject("0" * decoded), obj_stream=stream)
    form = generic.DictionaryObject(
        {generic.pdf_name("/Fields"): generic.ArrayObject(), generic.pdf_name("/Pad"): padding}
    )
    writer.root["/AcroForm"] = writer.add_object(form, obj_stream=stream)
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def hub_overrides() -> dict[str, Any]:
    return {"pdf_max_decoded_bytes": 1 * MiB, "pdf_max_memory_bytes": 2048 * MiB}


@pytest.fixture
async def sender(hub: Hub) -> Agency:
    await hub.add(RECIPIENT)
    return await hub.add(SENDER)


async def test_a_pdf_decoding_past_the_bound_is_limit_exceeded(hub: Hub, sender: Agency) -> None:
    bomb = expanding(3 * MiB)
    assert len(bomb) < 100_000
    verdict = (await submit_pdf(hub, sender, bomb))["verdict"]
    assert "VALIDATION_LIMIT_EXCEEDED" in verdict["violations"]
    small = (await submit_pdf(hub, sender, expanding(100_000)))["verdict"]
    assert "VALIDATION_LIMIT_EXCEEDED" not in small["violations"]


async def test_a_reading_past_the_time_bound_is_limit_exceeded(hub: Hub, sender: Agency) -> None:
    hub.context.ingest.pdfs.bounds = PdfBounds(
        max_seconds=0.001, max_memory_bytes=2048 * MiB, workers=hub.settings.pdf_workers
    )
    verdict = (await submit_pdf(hub, sender, signed(sender)))["verdict"]
    assert "VALIDATION_LIMIT_EXCEEDED" in verdict["violations"]


async def test_each_worker_runs_under_the_memory_bound(hub: Hub, sender: Agency) -> None:
    await submit_pdf(hub, sender, signed(sender))  # the hub starts a worker and keeps it
    bounds = hub.context.ingest.pdf_bounds
    workers = WORKERS.get(bounds.workers, bounds.max_memory_bytes)
    worker = workers.take()
    try:
        assert worker.pid is not None, "the hub kept no started worker"
        pid, soft, _ = await worker.run(worker_limits)
    finally:
        workers.give(worker)
    assert soft == 2048 * MiB
    assert pid == worker.pid != os.getpid()


async def test_without_a_worker_process_the_pdf_is_read_in_a_thread(
    hub: Hub, sender: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*_: object) -> None:
        raise OSError("no /dev/shm")

    monkeypatch.setattr(WORKERS, "get", no_pool)
    verdict = (await submit_pdf(hub, sender, signed(sender)))["verdict"]
    assert verdict["compliant"], verdict["violations"]
