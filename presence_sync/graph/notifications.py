"""Graph change and lifecycle notifications: parsing, and opening rich (encrypted) content.

Errors: a body that is not a notification raises `ValidationError` (the webhook answers 400);
content whose signature does not verify raises `ForbiddenError` (403). The signature is
checked before anything is decrypted, so a forged payload never reaches the AES decryptor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from presence_sync.errors import ForbiddenError, GraphError, ValidationError
from presence_sync.graph.models import Presence
from presence_sync.untrusted import checked_text, parse_json

__all__ = [
    "ChangeDelivery",
    "ChangeNotification",
    "EncryptedContent",
    "LifecycleNotification",
    "decrypt_presence",
    "parse_change_delivery",
    "parse_change_notifications",
    "parse_lifecycle_notifications",
]

MAX_TEXT = 256  # ids are GUIDs; Graph allows a clientState of at most 128 characters
# Entra object ids are GUIDs; what a hint names is read from Graph, so nothing else passes.
_USER_ID = re.compile(r"[0-9A-Za-z\-]+")
_RESOURCE_ID = re.compile(r"presences(?:\('([^']+)'\)|/([^/?'()]+))\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class EncryptedContent:
    """Graph's `encryptedContent` of a rich notification, still sealed."""

    data: bytes
    data_key: bytes
    data_signature: bytes
    certificate_id: str | None
    thumbprint: str | None


@dataclass(frozen=True)
class ChangeNotification:
    """One item of a change notification: which subscription, which user, sealed content."""

    subscription_id: str
    client_state: str | None = field(repr=False)
    change_type: str
    user_id: str | None  # None when neither resource nor resourceData names a user
    encrypted: EncryptedContent | None = field(default=None, repr=False)


@dataclass(frozen=True)
class LifecycleNotification:
    """One lifecycle event: reauthorizationRequired, subscriptionRemoved or missed."""

    subscription_id: str
    client_state: str | None = field(repr=False)
    event: str


def _payload(body: bytes) -> Any:
    return parse_json(body, "the notification")


def _items(body: bytes, payload: Any = None) -> list[dict[str, Any]]:
    payload = _payload(body) if payload is None else payload
    values = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(values, list) or not values:
        raise ValidationError("the notification has no value list")
    if not all(isinstance(item, dict) for item in values):
        raise ValidationError("every notification item must be an object")
    return values


def _required_text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"a notification item has no {name}")
    return checked_text(value, f"a notification item's {name}", limit=MAX_TEXT)


def _optional_text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        return None
    return checked_text(value, f"a notification item's {name}", limit=MAX_TEXT)


def _b64(content: dict[str, Any], name: str) -> bytes:
    value = content.get(name)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"encryptedContent has no {name}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValidationError(f"encryptedContent.{name} is not base64") from err


def _user_id(item: dict[str, Any]) -> str | None:
    data = item.get("resourceData")
    if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
        return checked_text(
            data["id"], "a notification item's user id", limit=MAX_TEXT, pattern=_USER_ID
        )
    resource = item.get("resource")
    if isinstance(resource, str):
        match = _RESOURCE_ID.search(resource)
        if match:
            found = match.group(1) or match.group(2)
            return checked_text(
                found, "a notification item's user id", limit=MAX_TEXT, pattern=_USER_ID
            )
    return None


@dataclass(frozen=True)
class ChangeDelivery:
    """One change-notification POST: its items and the validation tokens Graph sent along."""

    items: tuple[ChangeNotification, ...]
    validation_tokens: tuple[str, ...]

    @property
    def rich(self) -> bool:
        """True when any item carries resource data (and so must come with validation tokens)."""
        return any(item.encrypted is not None for item in self.items)


def parse_change_delivery(body: bytes) -> ChangeDelivery:
    """A change-notification POST; ValidationError when malformed."""
    payload = _payload(body)
    items = _change_items(_items(body, payload))
    tokens = payload.get("validationTokens") or []
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise ValidationError("validationTokens must be a list of tokens")
    return ChangeDelivery(items, tuple(tokens))


def parse_change_notifications(body: bytes) -> tuple[ChangeNotification, ...]:
    """The items of a change-notification POST; ValidationError when malformed."""
    return _change_items(_items(body))


def _change_items(items: list[dict[str, Any]]) -> tuple[ChangeNotification, ...]:
    parsed = []
    for item in items:
        sealed = item.get("encryptedContent")
        encrypted = None
        if sealed is not None:
            if not isinstance(sealed, dict):
                raise ValidationError("encryptedContent must be an object")
            encrypted = EncryptedContent(
                data=_b64(sealed, "data"),
                data_key=_b64(sealed, "dataKey"),
                data_signature=_b64(sealed, "dataSignature"),
                certificate_id=_optional_text(sealed, "encryptionCertificateId"),
                thumbprint=_optional_text(sealed, "encryptionCertificateThumbprint"),
            )
        parsed.append(
            ChangeNotification(
                subscription_id=_required_text(item, "subscriptionId"),
                client_state=_optional_text(item, "clientState"),
                change_type=_optional_text(item, "changeType") or "updated",
                user_id=_user_id(item),
                encrypted=encrypted,
            )
        )
    return tuple(parsed)


def parse_lifecycle_notifications(body: bytes) -> tuple[LifecycleNotification, ...]:
    """The items of a lifecycle-notification POST; ValidationError when malformed."""
    return tuple(
        LifecycleNotification(
            subscription_id=_required_text(item, "subscriptionId"),
            client_state=_optional_text(item, "clientState"),
            event=_required_text(item, "lifecycleEvent"),
        )
        for item in _items(body)
    )


def decrypt_presence(content: EncryptedContent, private_key: rsa.RSAPrivateKey) -> Presence:
    """Open a rich notification's presence: unwrap the key, verify, then decrypt."""
    try:
        key = private_key.decrypt(
            content.data_key,
            asym_padding.OAEP(
                mgf=asym_padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303 - Graph's choice
                algorithm=hashes.SHA1(),  # noqa: S303
                label=None,
            ),
        )
    except ValueError as err:
        raise ForbiddenError("the notification's data key is not for our certificate") from err
    expected = hmac.new(key, content.data, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, content.data_signature):
        raise ForbiddenError("the notification's data signature does not match")
    if len(key) not in (16, 24, 32) or not content.data or len(content.data) % 16:
        raise ValidationError("the notification's encrypted data is malformed")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(content.data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError as err:
        raise ValidationError("the notification's decrypted data is malformed") from err
    resource = parse_json(plain, "the notification's decrypted data")
    try:
        return Presence.from_json(resource)
    except GraphError as err:
        raise ValidationError("the notification's resource is not a presence") from err
