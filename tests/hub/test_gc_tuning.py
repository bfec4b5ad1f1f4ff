"""A served worker tunes Python's garbage collector (`LIENTHONG_GC_GEN0_THRESHOLD`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hub.cli import app_factory, tune_gc
from hub.settings import HubSettings
from tests.hub.test_cli import env_for


@pytest.fixture
def python_gc() -> Iterator[None]:
    """Python's own GC settings back after the test."""
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def test_a_threshold_is_set_and_startup_objects_frozen(python_gc: None) -> None:
    gc.unfreeze()
    tune_gc(12_345)
    assert gc.get_threshold()[0] == 12_345
    assert gc.get_freeze_count() > 0


def test_zero_leaves_python_alone(python_gc: None) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    tune_gc(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_worker_factory_applies_the_setting(
    python_gc: None,
    database_url: str,
    pki: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env_for(database_url, pki, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LIENTHONG_GC_GEN0_THRESHOLD", "23456")
    app_factory()
    assert gc.get_threshold()[0] == 23_456


def test_a_negative_threshold_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_GC_GEN0_THRESHOLD", "-1")
    with pytest.raises(ValidationError):
        HubSettings()
