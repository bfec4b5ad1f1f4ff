"""Retention: documents' bodies and, later, their metadata and statistics are removed on a
schedule (`purge`, and now from a shell: `cli`); the event log is never purged and records
every purge."""

__all__ = ["cli", "purge"]
