"""The sandbox's local certificate authority and its HTTPS server certificate.

MSAL accepts only an https authority with a host name, so the sandbox always serves TLS.
On first start a CA and a server certificate for `localhost` / `127.0.0.1` are written to
the data folder; later starts reuse them, so a client that trusted `ca.pem` once keeps working.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server-key.pem"
CA_LIFETIME = dt.timedelta(days=3650)
SERVER_LIFETIME = dt.timedelta(days=825)  # the longest lifetime macOS / browsers accept


@dataclass(frozen=True)
class CertificatePaths:
    """Where the CA and the server certificate live."""

    ca_file: Path
    ca_key_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def in_folder(cls, data_dir: Path) -> CertificatePaths:
        """The standard file names inside `data_dir`."""
        return cls(
            ca_file=data_dir / CA_FILE,
            ca_key_file=data_dir / CA_KEY_FILE,
            cert_file=data_dir / SERVER_CERT_FILE,
            key_file=data_dir / SERVER_KEY_FILE,
        )

    def all_exist(self) -> bool:
        """Whether every file is present."""
        files = (self.ca_file, self.ca_key_file, self.cert_file, self.key_file)
        return all(p.is_file() for p in files)


def _write_private(path: Path, data: bytes) -> None:
    # Create with 0600 from the start so the key is never briefly world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _new_ca(now: dt.datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Presence Sync sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Presence Sync sandbox local CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_server_cert(
    ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, now: dt.datetime
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
            x509.IPAddress(ipaddress.IPv6Address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + SERVER_LIFETIME)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _still_valid(paths: CertificatePaths, now: dt.datetime) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(paths.ca_file.read_bytes())
        server = x509.load_pem_x509_certificate(paths.cert_file.read_bytes())
    except ValueError:
        return False
    return ca.not_valid_after_utc > now and server.not_valid_after_utc > now


def ensure_certificates(data_dir: Path) -> CertificatePaths:
    """Create the CA and server certificate in `data_dir` unless valid ones are already there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = CertificatePaths.in_folder(data_dir)
    now = dt.datetime.now(dt.UTC)
    if paths.all_exist() and _still_valid(paths, now):
        return paths
    if paths.ca_file.is_file() and paths.ca_key_file.is_file():
        # Keep an existing CA (clients may trust it already); only re-issue the server cert.
        ca_cert = x509.load_pem_x509_certificate(paths.ca_file.read_bytes())
        loaded = serialization.load_pem_private_key(paths.ca_key_file.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey) or ca_cert.not_valid_after_utc <= now:
            ca_key, ca_cert = _new_ca(now)
        else:
            ca_key = loaded
    else:
        ca_key, ca_cert = _new_ca(now)
        logger.info("created sandbox CA at %s", paths.ca_file)
    server_key, server_cert = _new_server_cert(ca_key, ca_cert, now)
    _write_private(paths.ca_key_file, _key_pem(ca_key))
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(paths.key_file, _key_pem(server_key))
    paths.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    return paths


def server_ssl_context(paths: CertificatePaths) -> ssl.SSLContext:
    """The TLS context the sandbox server listens with."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths.cert_file, paths.key_file)
    return context


def client_ssl_context(ca_file: str | Path) -> ssl.SSLContext:
    """A client TLS context that trusts the sandbox CA (and nothing else)."""
    return ssl.create_default_context(cafile=str(ca_file))


def ssl_context(data_dir: Path) -> ssl.SSLContext:
    """The server TLS context for `data_dir`, creating the certificates on first use."""
    return server_ssl_context(ensure_certificates(data_dir))
