"""RingCentral tokens through the official `ringcentral` SDK: JWT login, refresh, persistence.

The SDK is synchronous (`requests`), so its calls run in `asyncio.to_thread`. It builds a new
`requests` session per call with default trust, ignoring `REQUESTS_CA_BUNDLE` (it calls
`Session.send` directly), so the SDK's HTTP client is replaced with one that reuses a session
trusting the configured CA file and applying a timeout.

Tokens are precious: the Auth group allows 5 token calls a minute, and refresh tokens rotate
(a refresh retires the old one), so token work is serialised under one lock, persisted through
`save_auth` after every change, and restored with `load_auth` on start; the JWT is used only
when no usable access or refresh token exists.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from ringcentral.http import Client as SdkClient
from ringcentral.http.api_exception import ApiException
from ringcentral.http.api_response import ApiResponse
from ringcentral.platform.platform import Platform

from presence_sync.errors import (
    RingCentralAuthError,
    RingCentralRateLimitedError,
    RingCentralUnavailableError,
)
from presence_sync.http import parse_retry_after, requests_session
from presence_sync.ringcentral.errors import RingCentralTokenError, token_error

__all__ = ["LoadAuth", "RingCentralAuth", "SaveAuth"]

logger = logging.getLogger(__name__)

LoadAuth = Callable[[], Awaitable[dict[str, Any] | None]]
SaveAuth = Callable[[dict[str, Any]], Awaitable[None]]
APP_NAME = "PresenceSync"
APP_VERSION = "0.1.0"
EXPIRY_MARGIN = 60.0  # refresh a minute early so a request never carries a dying token


class _SessionClient(SdkClient):  # type: ignore[misc]
    """The SDK's HTTP client, sending through one trusted, time-limited `requests` session."""

    def __init__(self, session: requests.Session) -> None:
        super().__init__()
        self._session = session

    def load_response(self, request: requests.PreparedRequest) -> ApiResponse:
        """Send a prepared request through the shared session."""
        return ApiResponse(request, self._session.send(request))


@dataclass
class RingCentralAuth:
    """Access tokens for RingCentral's REST API, owned by the SDK's platform."""

    client_id: str
    client_secret: str = field(repr=False)
    server_url: str
    jwt: str | None = field(default=None, repr=False)
    ca_file: str | Path | None = None
    timeout: float = 10.0
    load_auth: LoadAuth | None = None
    save_auth: SaveAuth | None = None
    _http: requests.Session | None = field(default=None, init=False, repr=False)
    _platform: Platform | None = field(default=None, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _loaded: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.server_url = self.server_url.rstrip("/")

    @property
    def platform(self) -> Platform:
        """The SDK platform (built on first use)."""
        if self._platform is None:
            self._http = requests_session(self.ca_file, self.timeout)
            self._platform = Platform(
                _SessionClient(self._http),
                self.client_id,
                self.client_secret,
                self.server_url,
                APP_NAME,
                APP_VERSION,
            )
        return self._platform

    async def access_token(self) -> str:
        """A valid access token: the current one, a refreshed one, or one from a JWT login."""
        async with self._lock:
            await self._restore()
            data = self.platform.auth().data()
            if data["access_token"] and data["expire_time"] - EXPIRY_MARGIN > time.time():
                return str(data["access_token"])
            await self._renew(data)
            return str(self.platform.auth().access_token())

    async def rejected(self, token: str) -> str:
        """A new access token after RingCentral refused `token` (401): refresh once."""
        async with self._lock:
            current = self.platform.auth().access_token()
            if current and current != token:
                return str(current)  # another request already refreshed it
            data = self.platform.auth().data()
            if not data["refresh_token"]:
                await self._login()
            else:
                await self._refresh()
            return str(self.platform.auth().access_token())

    async def login(self) -> None:
        """Log in with the JWT credential now (an admin re-authorised the connection)."""
        async with self._lock:
            self._loaded = True
            await self._login()

    def owner_id(self) -> str | None:
        """The extension id the tokens belong to (the JWT's owner), once logged in."""
        owner = self.platform.auth().data().get("owner_id")
        return str(owner) if owner else None

    async def close(self) -> None:
        """Close the SDK's HTTP session."""
        if self._http is not None:
            await asyncio.to_thread(self._http.close)
            self._http = None
            self._platform = None

    async def _restore(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.load_auth is None:
            return
        saved = await self.load_auth()
        if saved:
            self.platform.auth().set_data(dict(saved))
            logger.info("restored RingCentral tokens for owner %s", self.owner_id())

    async def _renew(self, data: dict[str, Any]) -> None:
        refresh_valid = data["refresh_token"] and data["refresh_token_expire_time"] > time.time()
        if refresh_valid:
            await self._refresh()
        else:
            await self._login()

    async def _login(self) -> None:
        if not self.jwt:
            raise RingCentralTokenError(
                "invalid_grant", "no RingCentral token or JWT credential: authorise again"
            )
        logger.info("logging in to RingCentral with the JWT credential")
        await self._sdk(self.platform.login, jwt=self.jwt)
        await self._persist()

    async def _refresh(self) -> None:
        logger.info("refreshing the RingCentral access token")
        await self._sdk(self.platform.refresh)
        await self._persist()

    async def _persist(self) -> None:
        if self.save_auth is not None:
            await self.save_auth(dict(self.platform.auth().data()))

    async def _sdk(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an SDK token call off the loop, translating its failures."""
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except ApiException as err:
            raise _translate(err) from err
        except requests.RequestException as err:
            raise RingCentralUnavailableError(
                f"RingCentral token endpoint unreachable: {type(err).__name__}"
            ) from err


def _translate(err: ApiException) -> Exception:
    answer = err.api_response()
    response = answer.response() if answer is not None else None
    if response is None:
        # The SDK wraps transport failures too; the cause says which.
        cause = err.__context__ or err.__cause__
        return RingCentralUnavailableError(
            f"RingCentral token endpoint unreachable: {type(cause).__name__}"
        )
    status = response.status_code
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return RingCentralRateLimitedError(
            "RingCentral refused a token call (Auth group)", wait or 60.0
        )
    if status >= 500:
        return RingCentralUnavailableError(f"RingCentral token endpoint answered {status}")
    problem = token_error(response.content, "invalid_grant" if status == 400 else "invalid_client")
    if status in (400, 401):
        logger.warning(
            "RingCentral refused a token call: %s (%s)", problem.code, problem.error_code
        )
        return problem
    return RingCentralAuthError(f"RingCentral token endpoint answered {status}")
