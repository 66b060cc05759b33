"""Signing admins in outside Teams: Entra's authorization-code flow with PKCE, through MSAL.

MSAL builds the authorization URL (state, nonce, PKCE S256 verifier) and redeems the code; the
accounts it caches are removed after each sign-in, because the product keeps no token of the
admin's: the id token is checked again by `EntraTokens` (signature, issuer, audience, tenant,
nonce) and turned into a session. MSAL speaks `requests`, so its calls run off the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msal
import requests

from presence_sync.errors import GraphUnavailableError, UnauthenticatedError
from presence_sync.http import requests_session

__all__ = ["SignInFlow", "StartedSignIn"]


@dataclass(frozen=True)
class StartedSignIn:
    """Where to send the browser, and what to keep until Entra answers."""

    auth_uri: str
    state: str
    flow: dict[str, Any]


class SignInFlow:
    """Starts and finishes an admin's sign-in with this app's Entra registration."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        authority: str,
        ca_file: str | Path | None,
        timeout: float,
    ) -> None:
        self._client_id = client_id
        self._secret = client_secret
        self._authority = authority
        self._ca_file = ca_file
        self._timeout = timeout
        self._http: requests.Session | None = None
        self._msal: msal.ConfidentialClientApplication | None = None
        self._build_lock = threading.Lock()  # MSAL calls run on worker threads
        # MSAL recommends form_post (RFC 9700 §4.3.1, to keep codes out of URLs) for every
        # query-mode flow. Here the code is single-use, PKCE-bound and useless without the
        # browser's binding cookie, which only a top-level GET back carries.
        warnings.filterwarnings(
            "ignore", message="response_mode='form_post'", category=UserWarning, module="msal"
        )

    def _app(self) -> msal.ConfidentialClientApplication:
        # Built once: building reads the authority's OpenID metadata over the network, which
        # an anonymous visitor to /tab/auth/login must not be able to repeat at will.
        with self._build_lock:
            if self._msal is not None:
                return self._msal
            if self._http is None:
                self._http = requests_session(self._ca_file, self._timeout)
            try:
                self._msal = msal.ConfidentialClientApplication(
                    self._client_id,
                    authority=self._authority,
                    client_credential=self._secret,
                    instance_discovery=False,
                    http_client=self._http,
                    token_cache=msal.TokenCache(),
                    timeout=self._timeout,
                )
            except ValueError as err:
                raise GraphUnavailableError(f"Entra ID metadata unusable: {err}") from err
            return self._msal

    async def start(self, redirect_uri: str, login_hint: str | None) -> StartedSignIn:
        """A new sign-in: openid, profile and email, answered in the redirect's query."""

        def begin() -> dict[str, Any]:
            flow: dict[str, Any] = self._app().initiate_auth_code_flow(
                ["email"],
                redirect_uri=redirect_uri,
                login_hint=login_hint,
                # A top-level GET back, so the SameSite=Lax cookie that binds this sign-in to
                # the browser that started it comes along (a cross-site form post drops it).
                response_mode="query",
                prompt="select_account" if login_hint is None else None,
            )
            return flow

        flow = await self._run(begin)
        return StartedSignIn(str(flow["auth_uri"]), str(flow["state"]), flow)

    async def finish(self, flow: Mapping[str, Any], params: Mapping[str, str]) -> tuple[str, str]:
        """Redeem Entra's answer: (the id token, the nonce it must carry)."""

        def redeem() -> dict[str, Any]:
            app = self._app()
            result: dict[str, Any] = app.acquire_token_by_auth_code_flow(
                dict(flow), dict(params)
            )
            # The product keeps no token of the admin's: only the session it starts.
            for account in app.get_accounts():
                app.remove_account(account)
            return result

        try:
            result = await self._run(redeem)
        except ValueError as err:
            # MSAL raises for a state that does not match the flow: a replayed or forged answer.
            raise UnauthenticatedError("the sign-in answer does not match this sign-in") from err
        if "error" in result:
            said = result.get("error_description") or result["error"]
            raise UnauthenticatedError(f"Microsoft refused the sign-in: {said}")
        token = result.get("id_token")
        if not isinstance(token, str):
            raise UnauthenticatedError("Microsoft's answer carries no id token")
        # MSAL sends the SHA-256 of its nonce; the id token carries what was sent.
        return token, hashlib.sha256(str(flow.get("nonce", "")).encode()).hexdigest()

    async def _run(self, func: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(func)
        except requests.RequestException as err:
            raise GraphUnavailableError(f"Entra ID unreachable: {type(err).__name__}") from err
        except msal.exceptions.MsalServiceError as err:
            raise GraphUnavailableError(f"Entra ID failed: {err}") from err

    async def close(self) -> None:
        """Close the HTTP session MSAL used."""
        if self._http is not None:
            await asyncio.to_thread(self._http.close)
            self._http = None
