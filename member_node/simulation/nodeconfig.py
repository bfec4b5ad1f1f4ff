"""A simulated node's whole configuration, clerk rules included, as JSON for its process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from member_node.clerk import ClerkRules
from member_node.config import NodeConfig


def node_config_json(config: NodeConfig, port: int) -> str:
    rules = config.clerk
    return json.dumps(
        {
            "code": config.code,
            "hub_url": config.hub_url,
            "keys_dir": str(config.keys_dir),
            "data_dir": str(config.data_dir),
            "mode": config.mode,
            "poll_interval": config.poll_interval,
            "hub_id": config.hub_id,
            "port": port,
            "clerk": {
                "enabled": rules.enabled,
                "steps": [list(step) for step in rules.steps],
                "require_compliant": rules.require_compliant,
                "reject_violations": sorted(rules.reject_violations),
                "blocked_senders": sorted(rules.blocked_senders),
                "recall_answer": rules.recall_answer,
            },
        }
    )


def node_config_from_json(text: str) -> tuple[NodeConfig, int]:
    raw: dict[str, Any] = json.loads(text)
    clerk = raw["clerk"]
    rules = ClerkRules(
        enabled=bool(clerk["enabled"]),
        steps=tuple((str(code), float(delay)) for code, delay in clerk["steps"]),
        require_compliant=bool(clerk["require_compliant"]),
        reject_violations=frozenset(clerk["reject_violations"]),
        blocked_senders=frozenset(clerk["blocked_senders"]),
        recall_answer=clerk["recall_answer"],
    )
    config = NodeConfig(
        code=raw["code"],
        hub_url=raw["hub_url"],
        keys_dir=Path(raw["keys_dir"]),
        data_dir=Path(raw["data_dir"]),
        mode=raw["mode"],
        poll_interval=float(raw["poll_interval"]),
        hub_id=raw["hub_id"],
        clerk=rules,
    )
    return config, int(raw["port"])
