"""The operators' dashboard under `/ui`: server-rendered HTML, inline SVG, no JavaScript.

Pages get their figures from the same service functions as the API.
"""

__all__ = [
    "auth",
    "charts",
    "compliance",
    "delivery_pages",
    "documents",
    "errors",
    "forms",
    "labels",
    "overview",
    "registry_forms",
    "registry_pages",
    "render",
    "routes",
    "session",
    "signatures",
    "sorting",
    "timeline",
    "times",
]
