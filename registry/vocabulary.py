"""The registry's fixed vocabularies: member kinds, statuses, delivery modes, wire formats,
policies, roles.

Pure data, so the command line can list the allowed values in `--help` without
loading the database layer.
"""

from __future__ import annotations

from typing import Literal, get_args

MemberKind = Literal[
    "party_body",
    "ministry",
    "ministerial_agency",
    "government_agency",
    "province",
    "department",
    "district",
    "commune",
    "other",
]
MEMBER_KINDS: tuple[str, ...] = get_args(MemberKind)
MemberStatus = Literal["active", "suspended", "revoked"]
MEMBER_STATUSES: tuple[str, ...] = get_args(MemberStatus)
DeliveryMode = Literal["push", "pull"]
DELIVERY_MODES: tuple[str, ...] = get_args(DeliveryMode)
WireFormat = Literal["json", "edxml"]
WIRE_FORMATS: tuple[str, ...] = get_args(WireFormat)
AcceptancePolicy = Literal["accept_all", "reject_invalid", "require_compliant"]
ACCEPTANCE_POLICIES: tuple[str, ...] = get_args(AcceptancePolicy)
OperatorRole = Literal["admin", "auditor"]
OPERATOR_ROLES: tuple[str, ...] = get_args(OperatorRole)
