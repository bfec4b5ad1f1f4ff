"""The running node's parts, shared by its routes."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from member_node.clerk import Clerk
from member_node.client import HubClient
from member_node.config import NodeConfig
from member_node.identity import NodeIdentity
from member_node.poller import Poller
from member_node.receiver import Receiver
from member_node.store import NodeStore


@dataclass
class NodeContext:
    """Everything a node's routes need; one per process."""

    config: NodeConfig
    identity: NodeIdentity
    store: NodeStore
    client: HubClient
    clerk: Clerk
    receiver: Receiver
    poller: Poller | None


def node_context(request: Request) -> NodeContext:
    """FastAPI dependency: the running node's context."""
    context: NodeContext = request.app.state.node
    return context
