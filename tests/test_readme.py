"""The README is the operators' reference: every hub setting is documented there."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import HubSettings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", sorted(HubSettings.model_fields))
def test_every_hub_setting_is_in_the_readme(field: str) -> None:
    assert f"`LIENTHONG_{field.upper()}`" in README


def test_the_readme_opens_with_the_two_commands() -> None:
    opening = README[:400]
    assert "make demo" in opening
    assert "make test" in opening
