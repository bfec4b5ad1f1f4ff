"""The operators' dashboard under `/ui`: server-rendered HTML, inline SVG, no JavaScript.

Pages get their figures from the same service functions as the API.
"""

__all__ = [
    "auth",
    "charts",
    "delivery_pages",
    "pages",
    "registry_forms",
    "registry_pages",
    "render",
    "routes",
    "session",
]
