"""Where a member finds the hub and its own files unless told otherwise (pure, no imports).

`DEFAULT_HUB_URL` is where `lienthong hub serve` listens by default, so a hub and
a node started with no options find each other on one machine.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_HUB_URL = "http://127.0.0.1:8080"
DEFAULT_HUB_ID = "lienthong-hub"
"""The `aud` of every member token unless told otherwise: the hub's default `LIENTHONG_HUB_ID`."""


def default_home(code: str) -> Path:
    """`var/nodes/CODE`: the default home of a node's keys (`keys/`) and its database."""
    return Path("var") / "nodes" / code
