"""The operators' dashboard under `/ui`: server-rendered HTML, inline SVG, no JavaScript.

Pages get their figures from the same service functions as the API.
"""

__all__ = [
    "auth",
    "charts",
    "compliance",
    "documents",
    "errors",
    "forms",
    "labels",
    "overview",
    "pages",
    "render",
    "routes",
    "session",
    "signatures",
    "sorting",
    "timeline",
    "times",
]
