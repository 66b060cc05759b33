"""Encryption of secrets at rest (refresh tokens, token caches, webhook client states).

Secrets are sealed with Fernet (AES-128-CBC with HMAC-SHA256 and a timestamp) under one
key from settings. A value sealed under another key does not open: that is reported as
`SecretKeyError`, which names the likely cause instead of a bare `InvalidToken`.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from presence_sync.errors import PresenceSyncError

__all__ = ["SecretBox", "SecretKeyError"]

# A fixed, public salt: derive() turns one passphrase into one key, the same on every
# replica, so replicas sharing a store can open each other's secrets.
_DERIVE_SALT = b"presence-sync/secret-box/v1"
_DERIVE_ITERATIONS = 200_000


class SecretKeyError(PresenceSyncError):
    """A key is malformed, or a stored secret does not open with the configured key."""


class SecretBox:
    """Seals and opens secrets with one Fernet key."""

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode() if isinstance(key, str) else key
        try:
            self._fernet = Fernet(raw.strip())
        except (ValueError, TypeError) as err:
            raise SecretKeyError(
                "the secret key must be a Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with SecretBox.generate_key()"
            ) from err

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key, as text fit for an environment variable."""
        return Fernet.generate_key().decode()

    @classmethod
    def derive(cls, passphrase: str) -> SecretBox:
        """A box whose key is derived from a passphrase (PBKDF2-HMAC-SHA256)."""
        if not passphrase:
            raise SecretKeyError("the passphrase must not be empty")
        digest = hashlib.pbkdf2_hmac(
            "sha256", passphrase.encode(), _DERIVE_SALT, _DERIVE_ITERATIONS, dklen=32
        )
        return cls(base64.urlsafe_b64encode(digest))

    def encrypt(self, value: str | bytes) -> str:
        """Seal `value`; the result is ASCII text safe to store anywhere."""
        data = value.encode() if isinstance(value, str) else value
        return self._fernet.encrypt(data).decode("ascii")

    def decrypt(self, sealed: str) -> bytes:
        """Open a value sealed by `encrypt` under the same key."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as err:
            raise SecretKeyError(
                "a stored secret does not open with the configured SECRET_KEY "
                "(was the key changed? reconnect the account or restore the old key)"
            ) from err

    def decrypt_text(self, sealed: str) -> str:
        """Open a value sealed by `encrypt` and decode it as UTF-8 text."""
        return self.decrypt(sealed).decode()
