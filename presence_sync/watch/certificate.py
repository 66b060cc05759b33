"""The product's encryption certificate for Graph rich notifications.

Generated once per deployment (RSA 2048, self-signed, ten years) and kept in the store as a
connection record of kind `CERTIFICATE_KIND`: the certificate in `details`, the private key
in the sealed `secret`, so it is encrypted at rest with SECRET_KEY like every other secret.
Creation runs under a store lease so two replicas starting together make only one.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from presence_sync.connections.records import GRAPH_CERTIFICATE
from presence_sync.store.base import Store
from presence_sync.store.models import Connection, ConnectionDetails, ConnectionStatus

__all__ = ["CERTIFICATE_KIND", "EncryptionCertificate", "load_or_create_certificate"]

logger = logging.getLogger(__name__)

CERTIFICATE_KIND = GRAPH_CERTIFICATE
_LEASE = "watch:certificate"
_VALID_DAYS = 3650


@dataclass(frozen=True)
class EncryptionCertificate:
    """The certificate Graph encrypts rich notifications for, with its private key."""

    certificate_id: str
    certificate_b64: str  # base64 DER, as Graph's encryptionCertificate wants it
    thumbprint: str  # SHA-1 of the DER bytes, upper-case hex
    private_key: rsa.RSAPrivateKey = field(repr=False)


def _generate() -> tuple[EncryptionCertificate, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Presence Sync notifications")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),  # sealed by the store instead
    ).decode()
    made = EncryptionCertificate(
        certificate_id=str(uuid.uuid4()),
        certificate_b64=base64.b64encode(der).decode(),
        thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        private_key=key,
    )
    return made, pem


def _from_record(record: Connection) -> EncryptionCertificate | None:
    details = record.details
    cert_id, cert_b64, thumb = details.certificate_id, details.certificate, details.thumbprint
    if not (record.secret and cert_id and cert_b64):
        return None
    key = serialization.load_pem_private_key(record.secret.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        return None
    return EncryptionCertificate(cert_id, cert_b64, str(thumb or ""), key)


async def load_or_create_certificate(
    store: Store, owner: str, clock: Callable[[], float]
) -> EncryptionCertificate:
    """The stored certificate, made and stored first if there is none yet."""
    while True:
        record = await store.get_connection(CERTIFICATE_KIND)
        if record is not None:
            found = _from_record(record)
            if found is not None:
                return found
            logger.warning("the stored notification certificate is unreadable; making a new one")
        if await store.acquire_lease(_LEASE, owner, 60.0, clock()):
            try:
                again = await store.get_connection(CERTIFICATE_KIND)
                if again is not None and (found := _from_record(again)) is not None:
                    return found
                made, pem = await asyncio.to_thread(_generate)
                await store.put_connection(
                    Connection(
                        kind=CERTIFICATE_KIND,
                        status=ConnectionStatus.CONNECTED,
                        details=ConnectionDetails(
                            certificate_id=made.certificate_id,
                            certificate=made.certificate_b64,
                            thumbprint=made.thumbprint,
                        ),
                        secret=pem,
                        updated_at=clock(),
                    )
                )
                logger.info("made the notification encryption certificate %s", made.certificate_id)
                return made
            finally:
                await store.release_lease(_LEASE, owner)
        # Another replica is making it right now.
        await asyncio.sleep(0.2)
