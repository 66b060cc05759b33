"""Encrypted resource data in rich notifications, built exactly as Graph builds it.

Graph picks a random 32-byte AES key per notification, encrypts the resource JSON with
AES-256-CBC (PKCS7 padding, IV = the key's first 16 bytes), wraps the key with the subscriber's
RSA public key (OAEP, SHA-1), and signs the ciphertext with HMAC-SHA256 under the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding

MIN_KEY_BITS = 2048
MAX_KEY_BITS = 4096


@dataclass(frozen=True)
class EncryptionCertificate:
    """A subscriber's certificate for rich notifications."""

    certificate_id: str
    public_key: rsa.RSAPublicKey
    thumbprint: str  # SHA-1 of the DER bytes, upper-case hex, as Graph reports it


def load_certificate(encoded: Any, certificate_id: Any) -> EncryptionCertificate:
    """Parse a base64 DER X.509 certificate; ValueError saying what is wrong."""
    if not isinstance(certificate_id, str) or not certificate_id.strip():
        raise ValueError("encryptionCertificateId is required when includeResourceData is true")
    if not isinstance(encoded, str) or not encoded.strip():
        raise ValueError("encryptionCertificate is required when includeResourceData is true")
    try:
        der = base64.b64decode(encoded, validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as err:
        raise ValueError("encryptionCertificate is not a base64-encoded X.509 certificate") from err
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("encryptionCertificate must carry an RSA public key")
    if not MIN_KEY_BITS <= key.key_size <= MAX_KEY_BITS:
        raise ValueError(
            f"encryptionCertificate key is {key.key_size} bits; Graph accepts 2048 to 4096"
        )
    thumbprint = hashlib.sha1(cert.public_bytes(Encoding.DER), usedforsecurity=False)
    return EncryptionCertificate(certificate_id, key, thumbprint.hexdigest().upper())


def encrypt_resource(cert: EncryptionCertificate, resource: dict[str, Any]) -> dict[str, str]:
    """Graph's `encryptedContent` object for `resource`."""
    key = os.urandom(32)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(resource).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    data = encryptor.update(plain) + encryptor.finalize()
    wrapped = cert.public_key.encrypt(
        key,
        asym_padding.OAEP(
            mgf=asym_padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303 - Graph's choice
            algorithm=hashes.SHA1(),  # noqa: S303
            label=None,
        ),
    )
    signature = hmac.new(key, data, hashlib.sha256).digest()
    return {
        "data": base64.b64encode(data).decode(),
        "dataKey": base64.b64encode(wrapped).decode(),
        "dataSignature": base64.b64encode(signature).decode(),
        "encryptionCertificateId": cert.certificate_id,
        "encryptionCertificateThumbprint": cert.thumbprint,
    }
