"""Simulated networks: the launcher the integration tests use, and the national demo.

One of the two places allowed to see every package (DESIGN section 2): it
starts hubs and nodes together.
"""

from member_node.simulation.launcher import Network, Placement, launch
from member_node.simulation.provision import NodeSpec, Provisioned

__all__ = ["Network", "NodeSpec", "Placement", "Provisioned", "launch"]
