"""Signing and checking the sandbox's Entra ID tokens (RS256, published through JWKS)."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GRAPH_AUDIENCE = "https://graph.microsoft.com"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SigningKey:
    """One RSA signing key and its JWKS entry."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh 2048-bit key with a random key id."""
        return cls(uuid.uuid4().hex, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }

    def pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


class TokenError(Exception):
    """A presented token is missing, malformed, expired, revoked or for another audience."""


@dataclass
class TokenIssuer:
    """Issues and verifies JWTs for one issuer (an Entra tenant, or the Bot Framework channel)."""

    issuer: str
    key: SigningKey = field(default_factory=SigningKey.generate)
    revoked_after: float = 0.0  # tokens issued before this epoch second are refused

    def jwks(self) -> dict[str, Any]:
        """The JWKS document."""
        return {"keys": [self.key.jwk()]}

    def issue(self, claims: dict[str, Any], lifetime: float, now: float | None = None) -> str:
        """A signed token carrying `claims` plus iss/iat/nbf/exp/uti."""
        issued = time.time() if now is None else now
        body = {
            "iss": self.issuer,
            "iat": int(issued),
            "nbf": int(issued) - 5,
            "exp": int(issued + lifetime),
            "uti": uuid.uuid4().hex,
            **claims,
        }
        # The key object, not its PEM: re-parsing PEM on every token costs ~100 ms under load.
        return jwt.encode(
            body, self.key.private_key, algorithm="RS256", headers={"kid": self.key.kid}
        )

    def verify(
        self, token: str, audience: str | list[str], now: float | None = None
    ) -> dict[str, Any]:
        """The claims of `token` if it is ours, unexpired, unrevoked and for `audience`."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key.private_key.public_key(),
                algorithms=["RS256"],
                audience=audience,
                issuer=self.issuer,
                # With a sandbox clock that runs faster than real time, iat/nbf/exp are in
                # sandbox seconds, so they are checked against `now` below instead.
                options={
                    "verify_exp": now is None,
                    "verify_nbf": now is None,
                    "verify_iat": now is None,
                },
                leeway=5,
            )
        except jwt.PyJWTError as err:
            raise TokenError(str(err)) from err
        if now is not None and claims["exp"] < now:
            raise TokenError("token expired")
        if now is not None and claims.get("nbf", 0) > now + 5:
            raise TokenError("token not yet valid")
        if claims["iat"] < self.revoked_after:
            raise TokenError("token revoked")
        return claims


def bearer(header: str | None) -> str:
    """The token of an `Authorization: Bearer …` header, or TokenError."""
    if not header or not header.lower().startswith("bearer "):
        raise TokenError("missing bearer token")
    return header[7:].strip()
