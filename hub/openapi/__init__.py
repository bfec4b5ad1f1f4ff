"""OpenAPI helpers shared by the hub and the member node: placing recorded exchanges
as examples (`recorded`). Pure: no HTTP, no database, so a node imports it too."""

__all__ = ["recorded"]
