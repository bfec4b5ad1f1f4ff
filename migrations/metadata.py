"""Every table of the project on one `MetaData`: what Alembic migrates and compares.

A package that adds tables adds its models module here, so autogenerate and
the schema test see them.
"""

from __future__ import annotations

import hub.db.models
import hub.eventlog.chain
import hub.reports.models
import registry.models
from registry.db import Base

MODEL_MODULES = (registry.models, hub.db.models, hub.eventlog.chain, hub.reports.models)
metadata = Base.metadata
