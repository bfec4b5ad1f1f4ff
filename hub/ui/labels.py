"""Vietnamese labels for the codes operators read: violations, delivery states, statuses.

Each label keeps the stable English code beside it ("Chưa ký (UNSIGNED)"),
so an operator can search the API, the logs and the CSVs for what the page
shows. An unknown code is shown as it is: a label never hides a value.
"""

from __future__ import annotations

from hub.protocol import DeliveryState, RecipientOutcome, StatusCode
from signing.compliance import Violation

__all__ = [
    "OUTCOME_LABELS",
    "STATE_LABELS",
    "STATUS_LABELS",
    "VIOLATION_LABELS",
    "outcome_label",
    "state_label",
    "status_label",
    "violation_label",
]

VIOLATION_LABELS: dict[str, str] = {
    Violation.UNSIGNED: "Chưa ký số",
    Violation.NO_PERSONAL_SIGNATURE: "Thiếu chữ ký cá nhân",
    Violation.NO_ORGANIZATION_SIGNATURE: "Thiếu chữ ký cơ quan",
    Violation.BAD_SIGNATURE: "Chữ ký không hợp lệ",
    Violation.UNTRUSTED_CERTIFICATE: "Chứng thư không tin cậy",
    Violation.CERTIFICATE_EXPIRED: "Chứng thư hết hạn",
    Violation.CERTIFICATE_REVOKED: "Chứng thư bị thu hồi",
    Violation.ORGANIZATION_MISMATCH: "Chữ ký cơ quan không phải của đơn vị gửi",
    Violation.SIGNER_NOT_OF_SENDER: "Người ký không thuộc đơn vị gửi",
    Violation.WRONG_ORDER: "Sai thứ tự ký",
    Violation.WEAK_ALGORITHM: "Thuật toán yếu",
    Violation.BAD_SIGNING_TIME: "Thời điểm ký không hợp lệ",
    Violation.LATE_DISPATCH: "Gửi muộn",
    Violation.MODIFIED_AFTER_SIGNING: "Sửa sau khi ký",
    Violation.UNREADABLE_DOCUMENT: "Không đọc được PDF",
    Violation.VALIDATION_LIMIT_EXCEEDED: "Vượt giới hạn kiểm tra",
}

STATE_LABELS: dict[str, str] = {
    DeliveryState.QUEUED: "Chờ chuyển",
    DeliveryState.DELIVERED: "Đã chuyển",
    DeliveryState.ARRIVED: "Đã đến",
    DeliveryState.REJECTED: "Bị từ chối",
    DeliveryState.ACCEPTED: "Đã tiếp nhận",
    DeliveryState.ASSIGNED: "Đã phân công",
    DeliveryState.PROCESSING: "Đang xử lý",
    DeliveryState.COMPLETED: "Hoàn thành",
    DeliveryState.RECALLED: "Đã thu hồi",
    DeliveryState.FAILED: "Chuyển thất bại",
}

STATUS_LABELS: dict[str, str] = {
    StatusCode.ARRIVED: "Đã đến",
    StatusCode.REJECTED: "Từ chối tiếp nhận",
    StatusCode.ACCEPTED: "Đã tiếp nhận",
    StatusCode.ASSIGNED: "Phân công",
    StatusCode.PROCESSING: "Đang xử lý",
    StatusCode.COMPLETED: "Hoàn thành",
    StatusCode.RECALLED: "Đơn vị gửi thu hồi",
    StatusCode.RECALL_AGREED: "Đồng ý thu hồi",
    StatusCode.RECALL_REFUSED: "Từ chối thu hồi",
}
"""The edXML status codes the hub carries, keyed by the code as sent ("03")."""

OUTCOME_LABELS: dict[str, str] = {
    RecipientOutcome.ACCEPTED: "Nhận chuyển",
    RecipientOutcome.REFUSED_BY_POLICY: "Từ chối theo chính sách nơi nhận",
    RecipientOutcome.RECIPIENT_INACTIVE: "Nơi nhận bị đình chỉ",
}
"""What the hub decided for a recipient at submission."""

_STATUS_ENGLISH = {code.value: code.name.lower().replace("_", " ") for code in StatusCode}


def _both(labels: dict[str, str], code: str, english: str | None = None) -> str:
    label = labels.get(code)
    return f"{label} ({english or code})" if label else code


def violation_label(code: str) -> str:
    """`Chưa ký số (UNSIGNED)`."""
    return _both(VIOLATION_LABELS, str(code))


def state_label(state: str) -> str:
    """`Chờ chuyển (queued)`."""
    return _both(STATE_LABELS, str(state))


def status_label(code: str) -> str:
    """`03 Đã tiếp nhận (accepted)`: the code first, as edXML and the API number it."""
    code = str(code)
    label = _both(STATUS_LABELS, code, _STATUS_ENGLISH.get(code))
    return label if label == code else f"{code} {label}"


def outcome_label(outcome: str) -> str:
    """`Từ chối theo chính sách nơi nhận (refused_by_policy)`."""
    return _both(OUTCOME_LABELS, str(outcome))
