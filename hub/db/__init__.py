"""The hub's tables and the SQL helpers shared by its services (bulk writes, upserts).

The schema itself is written by the Alembic revisions under `migrations/`.
"""

__all__ = ["bulk", "models", "notify", "sql"]
