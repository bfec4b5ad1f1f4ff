"""What one node needs to run: who it is, where the hub is, how it receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from member_node.clerk import ClerkRules
from member_node.defaults import default_home as default_home
from member_node.identity import TokenKeys

Mode = Literal["push", "pull"]


@dataclass(frozen=True)
class NodeConfig:
    code: str
    """The agency code; must be the one in `org.crt`."""
    hub_url: str
    keys_dir: Path
    """The `--keys DIR` layout of `member_node.identity`."""
    data_dir: Path
    """Where the node's own SQLite (`node.db`) lives."""
    mode: Mode = "push"
    poll_interval: float = 2.0
    hub_id: str = "lienthong-hub"
    """The hub's id: the `aud` of this node's tokens and the `iss` of the hub's pushes."""
    clerk: ClerkRules = field(default_factory=ClerkRules)
    tokens: TokenKeys | None = None
    """Keys kept on PKCS#11 tokens instead of `org.key` / `official.key`."""
    flush_each_commit: bool = True
    """Whether the node's database waits for the disk at every commit (SQLite's
    `synchronous=FULL`). False (`NORMAL`): a commit survives a crash of the process, and
    only a crash of the machine may lose the last ones; for simulated nodes sharing one
    process and disk, whose every flush would stall all of them."""

    @property
    def database_path(self) -> Path:
        return self.data_dir / "node.db"
