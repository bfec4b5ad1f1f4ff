"""Recipients' acceptance policies (DESIGN section 3): which verdicts reach whom.

The hub records and routes every well-formed package; a policy only decides,
per recipient, whether this one is delivered to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.protocol import RecipientOutcome

INVALID = frozenset({"BAD_SIGNATURE", "UNTRUSTED_CERTIFICATE", "CERTIFICATE_REVOKED"})
"""What `reject_invalid` refuses: signatures that are forged or outside the national PKI."""


def refusal_reasons(policy: str, violations: Iterable[str]) -> list[str]:
    """The violations for which `policy` refuses a document; empty means deliver."""
    found = sorted({str(v) for v in violations})
    if policy == "require_compliant":
        return found
    if policy == "reject_invalid":
        return [v for v in found if v in INVALID]
    return []


def decide(
    member_status: str, policy: str, violations: Iterable[str]
) -> tuple[RecipientOutcome, list[str]]:
    """One recipient's outcome: inactive members and policy refusals get nothing.

    A suspended or revoked recipient is refused with `recipient_inactive` (the
    reason is its registry status) rather than failing the whole submission:
    the sender's other recipients still get the document, and the sender sees
    why this one did not.
    """
    if member_status != "active":
        return RecipientOutcome.RECIPIENT_INACTIVE, [member_status]
    reasons = refusal_reasons(policy, violations)
    if reasons:
        return RecipientOutcome.REFUSED_BY_POLICY, reasons
    return RecipientOutcome.ACCEPTED, []
