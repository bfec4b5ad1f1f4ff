"""Dashboard sessions: an HMAC-signed cookie made from an operator token, and CSRF tokens.

The cookie holds the operator's name, role, an expiry and a random nonce; the
token itself is never stored. Every page re-reads the operator, so disabling
one ends its sessions. Forms carry a CSRF token derived from the nonce (or,
before login, a double-submit cookie), and cookies are `SameSite=Strict`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi import Request

from hub.context import HubContext, hub_context
from registry.operator_auth import AuthenticatedOperator
from registry.operators import find_by_name
from signing.keys import private_key_of

SESSION_COOKIE = "lienthong_ui"
LOGIN_CSRF_COOKIE = "lienthong_login_csrf"
_PROCESS_SECRET = secrets.token_bytes(32)


@dataclass(frozen=True)
class UiSession:
    name: str
    role: str
    expires: int
    nonce: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """How this operator appears in the change log and the event log: as in the API."""
        return AuthenticatedOperator(self.name, self.role).actor


def secret_of(context: HubContext) -> bytes:
    """`ui_secret`, or a key derived from the hub's private key (shared by its replicas)."""
    settings = context.settings
    if settings.ui_secret:
        return hashlib.sha256(settings.ui_secret.encode()).digest()
    key = private_key_of(context.identity.key)
    if key is None:  # on a token: a secret of this process (set ui_secret to share sessions)
        return _PROCESS_SECRET
    der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return hashlib.sha256(b"lienthong-ui-session\0" + der).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode(), hashlib.sha256).digest())


def encode(secret: bytes, name: str, role: str, lifetime: int) -> str:
    payload = {"n": name, "r": role, "e": int(time.time()) + lifetime, "x": secrets.token_hex(16)}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, body)}"


def decode(secret: bytes, cookie: str | None) -> UiSession | None:
    if not cookie or cookie.count(".") != 1:
        return None
    body, mac = cookie.split(".")
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    try:
        data = json.loads(_unb64(body))
        session = UiSession(str(data["n"]), str(data["r"]), int(data["e"]), str(data["x"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > time.time() else None


def csrf_token(secret: bytes, session: UiSession) -> str:
    return _mac(secret, "csrf:" + session.nonce)


def csrf_ok(secret: bytes, session: UiSession, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(given, csrf_token(secret, session))


async def current_session(request: Request) -> UiSession | None:
    """The request's session if its cookie is good and the operator is still enabled."""
    context = hub_context(request)
    session = decode(secret_of(context), request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    async with context.sessions() as db:
        operator = await find_by_name(db, session.name)
    if operator is None or operator.disabled_at is not None or operator.role != session.role:
        return None
    return session
