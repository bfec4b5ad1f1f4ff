"""Run one simulated node as its own process: `python -m member_node.simulation.node_process F`.

`F` is the JSON written by `node_config_json`. The launcher uses this rather
than `lienthong node serve` because a simulated node also carries its clerk's
rules (delays, rejections, recall answers), which an agency's real node
does not take on its command line.
"""

from __future__ import annotations

import json
import sys
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


def main(argv: list[str]) -> None:
    import uvicorn

    from member_node.app import create_node_app

    config, port = node_config_from_json(Path(argv[1]).read_text(encoding="utf-8"))
    uvicorn.run(
        create_node_app(config),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main(sys.argv)
