"""Every table of the project on one `MetaData`: what Alembic migrates and compares.

A package that adds tables adds its models module here, so autogenerate and
the schema test see them.
"""

from __future__ import annotations

from typing import Any

import hub.db.models
import hub.eventlog.chain
import hub.reports.models
import registry.models
from registry.db import Base

__all__ = ["MODEL_MODULES", "include_object", "metadata"]

MODEL_MODULES = (registry.models, hub.db.models, hub.eventlog.chain, hub.reports.models)
metadata = Base.metadata


def include_object(
    item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Compare everything but the tables SQLite's full-text index keeps for itself: no
    model describes a virtual table, and autogenerate must not offer to drop them."""
    index = hub.db.models.SQLITE_WORD_INDEX
    return not (
        type_ == "table" and reflected and (name == index or str(name).startswith(index + "_"))
    )
