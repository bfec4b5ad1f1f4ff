"""Agency codes of QCVN 102:2016: see `signing.codes`, where they live.

The code is checked first by the national CA, which writes it into every
certificate it issues (organizationIdentifier), so the pure parser sits in
`signing` (the bottom layer); the registry keeps this name for its callers.
"""

from __future__ import annotations

from signing.codes import (
    AGENCY_CODE_PATTERN,
    LEVEL1_GROUPS,
    AgencyCode,
    InvalidAgencyCode,
    ParentMismatch,
    is_valid,
    validate_parent,
)

__all__ = [
    "AGENCY_CODE_PATTERN",
    "LEVEL1_GROUPS",
    "AgencyCode",
    "InvalidAgencyCode",
    "ParentMismatch",
    "is_valid",
    "validate_parent",
]
