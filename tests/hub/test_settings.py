"""Hub settings read from the environment, as a deployment writes them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.settings import HubSettings


def test_log_level_accepts_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_LOG_LEVEL", "warning")
    assert HubSettings().log_level == "WARNING"


def test_unknown_log_level_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIENTHONG_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError, match="log_level"):
        HubSettings()
