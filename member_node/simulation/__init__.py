"""Simulated networks: the launcher the integration tests use, and the national demo.

One of the two places allowed to see every package (DESIGN section 2): it
starts hubs and nodes together. The API is `member_node.simulation.launcher`
(`launch`, `Network`) with `provision.NodeSpec`; the running network is in
`network`, its two placements in `inprocess` and `spawned`; this package imports nothing
itself so that a node process (`node_process`) stays light.
"""
