"""member_node."""
