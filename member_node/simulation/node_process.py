"""Run one simulated node as its own process: `python -m member_node.simulation.node_process F`.

`F` is the JSON written by `nodeconfig.node_config_json`. The launcher uses
this rather than `lienthong node serve` because a simulated node also carries
its clerk's rules (delays, rejections, recall answers), which an agency's real
node does not take on its command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from member_node.simulation.nodeconfig import node_config_from_json


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
