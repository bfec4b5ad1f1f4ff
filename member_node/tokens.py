"""The member's bearer JWT, minted locally and reused until shortly before it expires.

The hub caches verified tokens, so reusing one saves both sides a signature;
a fresh one is minted when less than `renew_before` seconds remain.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from member_node.identity import Signer
from signing.jose import mint_token

TOKEN_LIFETIME = 300
RENEW_BEFORE = 30


class TokenMinter:
    """Hands out a valid bearer token for `iss` → `aud`, minting only when needed."""

    def __init__(
        self,
        signer: Signer,
        iss: str,
        aud: str,
        *,
        lifetime: int = TOKEN_LIFETIME,
        renew_before: int = RENEW_BEFORE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if renew_before >= lifetime:
            raise ValueError("renew_before must be shorter than the token lifetime")
        self.signer = signer
        self.iss = iss
        self.aud = aud
        self.lifetime = lifetime
        self.renew_before = renew_before
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0

    def token(self) -> str:
        """A token valid for at least `renew_before` more seconds."""
        now = int(self._clock())
        if self._token is None or now >= self._expires_at - self.renew_before:
            self._token = mint_token(
                self.signer.key,
                self.signer.certificate,
                self.iss,
                self.aud,
                self.lifetime,
                now=now,
            )
            self._expires_at = now + self.lifetime
        return self._token

    def invalidate(self) -> None:
        """Forget the current token (after the hub refused it, e.g. on key rotation)."""
        self._token = None
