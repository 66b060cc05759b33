"""The Bot Framework channel: botbuilder's `CloudAdapter` with its blocking calls kept off the loop.

botbuilder validates each incoming activity's token against the channel's OpenID keys, and
signs each outgoing call with an app token from MSAL; both use blocking `requests` and would
stall every webhook and loop of the server while they wait. Here the keys are downloaded in a
worker thread (`_ThreadedKeys`, registered in botbuilder's own metadata cache before any
token is checked), and app tokens are fetched in a worker thread when botbuilder asks for the
credentials of a connector (`_ThreadedCredentials.refresh`), so its in-loop
`get_access_token()` only reads the cached token.

Single-tenant: the bot's app registration lives in MICROSOFT_TENANT_ID and signs in there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import (
    AuthenticationConstants,
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)
from botframework.connector.auth.jwt_token_extractor import (
    JwtTokenExtractor,
    _OpenIdConfig,
    _OpenIdMetadata,
)
from jwt.algorithms import RSAAlgorithm
from requests.adapters import HTTPAdapter

from presence_sync.http import requests_session
from presence_sync.settings import Settings

__all__ = ["ChannelAuth", "build_adapter"]

logger = logging.getLogger(__name__)

DEFAULT_SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
TOKEN_MARGIN = 300.0  # fetch a new app token when the cached one has less than this left
KEY_TIMEOUT = 10.0


class _ThreadedKeys(_OpenIdMetadata):  # type: ignore[misc]
    """The channel's signing keys, downloaded in a worker thread (botbuilder's own blocks)."""

    def __init__(self, url: str, ca_file: Path | None) -> None:
        super().__init__(url)
        self._ca_file = ca_file

    async def _refresh(self) -> None:
        self.keys = await asyncio.to_thread(self._download)
        self.last_updated = datetime.now()

    def _download(self) -> list[dict[str, Any]]:
        with requests_session(self._ca_file, KEY_TIMEOUT) as session:
            document = session.get(self.url, timeout=KEY_TIMEOUT)
            document.raise_for_status()
            keys = session.get(document.json()["jwks_uri"], timeout=KEY_TIMEOUT)
            keys.raise_for_status()
            return list(keys.json()["keys"])

    def _find(self, key_id: str) -> _OpenIdConfig | None:
        # botbuilder's raises IndexError on an unknown key id; a forged token is refused instead.
        for key in self.keys or ():
            if key.get("kid") == key_id:
                public_key = RSAAlgorithm.from_jwk(json.dumps(key))
                return _OpenIdConfig(public_key, key.get("endorsements", []))
        return None


class _TrustingAdapter(HTTPAdapter):
    """A requests adapter that verifies servers against one CA file, whatever it is told."""

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self._ca_file = ca_file

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send `request`, verifying the server with the configured CA file."""
        if len(args) >= 3:  # (stream, timeout, verify, …) passed by position
            args = (*args[:2], self._ca_file, *args[3:])
        else:
            kwargs["verify"] = self._ca_file
        return super().send(request, *args, **kwargs)


class _ThreadedCredentials(MicrosoftAppCredentials):  # type: ignore[misc]
    """The bot's app credentials; MSAL runs in a worker thread, ahead of botbuilder asking."""

    def __init__(
        self, app_id: str, password: str, authority: str, scope: str, ca_file: Path | None
    ) -> None:
        super().__init__(app_id, password, oauth_scope=scope)
        self.oauth_endpoint = authority
        self._ca_file = ca_file
        self._msal: msal.ConfidentialClientApplication | None = None
        self._token: tuple[str, float] | None = None  # (token, expires at, time.time)
        self._lock = threading.Lock()

    def _scopes(self) -> list[str]:
        return [f"{self.oauth_scope.removesuffix('/.default')}/.default"]

    def _fetch(self) -> tuple[str, float]:
        with self._lock:
            if self._msal is None:
                self._msal = msal.ConfidentialClientApplication(
                    self.microsoft_app_id,
                    client_credential=self.microsoft_app_password,
                    authority=self.oauth_endpoint,
                    # Discovery would ask login.microsoftonline.com about any other host.
                    instance_discovery=False,
                    http_client=requests_session(self._ca_file, KEY_TIMEOUT),
                )
            result = self._msal.acquire_token_for_client(scopes=self._scopes())
        if "access_token" not in result:
            # botbuilder maps PermissionError to "not authorised"; the reason is Entra's.
            raise PermissionError(
                f"no Bot Framework token: {result.get('error', 'unknown error')}: "
                f"{result.get('error_description', '')}".rstrip(": ")
            )
        expires = time.time() + float(result.get("expires_in", 3600))
        return str(result["access_token"]), expires

    def _fresh(self, margin: float) -> str | None:
        token = self._token
        if token is not None and token[1] - time.time() > margin:
            return token[0]
        return None

    async def refresh(self) -> None:
        """Have a token with at least a few minutes left, fetched off the event loop."""
        if self._fresh(TOKEN_MARGIN) is None:
            self._token = await asyncio.to_thread(self._fetch)

    def signed_session(self, session: requests.Session | None = None) -> requests.Session:
        """The connector's requests session, signed, and trusting PRESENCE_SYNC_CA_FILE."""
        signed: requests.Session = super().signed_session(session)
        if self._ca_file is not None and not isinstance(
            signed.get_adapter("https://"), _TrustingAdapter
        ):
            # botbuilder's connector client names no CA of its own (and requests would let
            # REQUESTS_CA_BUNDLE override a session's `verify`): pin the configured one here.
            signed.mount("https://", _TrustingAdapter(str(self._ca_file)))
        return signed

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The cached token (botbuilder calls this inside the event loop)."""
        token = None if force_refresh else self._fresh(0.0)
        if token is not None:
            return token
        # Only when a token ran out between `refresh()` and its use, or a retry forces it.
        logger.warning("fetching a Bot Framework token on the event loop")
        self._token = self._fetch()
        return self._token[0]


class _CredentialFactory(PasswordServiceClientCredentialFactory):  # type: ignore[misc]
    """One `_ThreadedCredentials` per scope and endpoint, refreshed before each use."""

    def __init__(self, app_id: str, password: str, tenant: str, ca_file: Path | None) -> None:
        super().__init__(app_id, password, tenant)
        self._ca_file = ca_file
        self._made: dict[tuple[str, str], _ThreadedCredentials] = {}

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> MicrosoftAppCredentials:
        """Credentials for a connector client (botbuilder awaits this before every call)."""
        if await self.is_authentication_disabled():
            return MicrosoftAppCredentials.empty()
        if not await self.is_valid_app_id(app_id):
            raise PermissionError("the activity is addressed to another bot")
        key = (oauth_scope or DEFAULT_SCOPE, login_endpoint)
        credentials = self._made.get(key)
        if credentials is None:
            credentials = _ThreadedCredentials(
                app_id, self.password, login_endpoint, key[0], self._ca_file
            )
            self._made[key] = credentials
        await credentials.refresh()
        return credentials


class _Configuration:
    """The attribute names botbuilder's `ConfigurationBotFrameworkAuthentication` reads."""

    def __init__(self, settings: Settings) -> None:
        tenant = settings.microsoft_tenant_id or ""
        self.APP_ID = settings.bot_app_id or ""
        self.APP_PASSWORD = settings.bot_app_secret or ""
        self.APP_TYPE = "SingleTenant"
        self.APP_TENANTID = tenant
        authority_host = settings.microsoft_authority_host.rstrip("/")
        self.TO_CHANNEL_FROM_BOT_LOGIN_URL = f"{authority_host}/{tenant}"
        self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = DEFAULT_SCOPE
        if settings.bot_token_issuer:
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = settings.bot_token_issuer
        if settings.bot_openid_metadata_url:
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = settings.bot_openid_metadata_url
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = settings.bot_openid_metadata_url
        self.VALIDATE_AUTHORITY = urlsplit(authority_host).hostname == "login.microsoftonline.com"


class ChannelAuth:
    """How this deployment's bot authenticates, and its keys warmed off the event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.configured = bool(settings.bot_app_id and settings.bot_app_secret)
        urls = {
            settings.bot_openid_metadata_url
            or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
            settings.bot_openid_metadata_url
            or AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
        }
        self.keys = [_ThreadedKeys(url, settings.ca_file) for url in sorted(urls)]
        for keys in self.keys:
            # botbuilder looks the metadata up in this class-level cache by URL.
            JwtTokenExtractor.metadataCache[keys.url] = keys

    async def warm(self) -> None:
        """Download the channel's keys now, so the first message is checked without waiting."""
        if not self.configured:
            return
        for keys in self.keys:
            await keys._refresh()


def build_adapter(settings: Settings) -> CloudAdapter:
    """botbuilder's adapter for this deployment (authentication is off without credentials)."""
    factory = _CredentialFactory(
        settings.bot_app_id or "",
        settings.bot_app_secret or "",
        settings.microsoft_tenant_id or "",
        settings.ca_file,
    )
    auth = ConfigurationBotFrameworkAuthentication(
        _Configuration(settings), credentials_factory=factory
    )
    return CloudAdapter(auth)
