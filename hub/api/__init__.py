"""The hub's HTTP routes: thin faces that parse, authorise and call one service function each.

They reach the running hub through `hub.context.hub_context`, never `hub.app`.
"""

__all__ = [
    "admin_deliveries",
    "admin_documents",
    "callers",
    "deps",
    "documents",
    "eventlog",
    "examples",
    "health",
    "inbox",
    "metrics",
    "push_callbacks",
    "reports",
]
