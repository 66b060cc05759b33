"""A botbuilder echo bot pointed at the sandbox, run as its own process by the tests.

Usage: `python tests/sandbox/echo_bot.py <sandbox-config.json> [lifetime-seconds]`. Prints one
JSON line `{"port": N}` once listening, then serves until killed or the lifetime ends.
It authenticates both ways with botbuilder's own `ConfigurationBotFrameworkAuthentication`;
the only sandbox-specific piece is a credential factory whose MSAL skips instance discovery,
which would otherwise call login.microsoftonline.com for an unknown authority host.
Run it with SSL_CERT_FILE and REQUESTS_CA_BUNDLE naming the sandbox CA.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import msal
from aiohttp import web
from botbuilder.core import (
    ActivityHandler,
    CardFactory,
    InvokeResponse,
    MessageFactory,
    TurnContext,
)
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import AdaptiveCardInvokeResponse
from botframework.connector.auth import (
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)


class SandboxAppCredentials(MicrosoftAppCredentials):  # type: ignore[misc]
    """App credentials whose MSAL client is told not to run instance discovery."""

    def __init__(self, app_id: str, password: str, authority: str, scope: str) -> None:
        super().__init__(app_id, password, oauth_scope=scope)
        self.oauth_endpoint = authority
        self._client: msal.ConfidentialClientApplication | None = None

    def get_access_token(self, force_refresh: bool = False) -> str:
        """A bot token from the sandbox's Entra ID (cached by MSAL)."""
        if self._client is None:
            self._client = msal.ConfidentialClientApplication(
                self.microsoft_app_id,
                client_credential=self.microsoft_app_password,
                authority=self.oauth_endpoint,
                instance_discovery=False,
            )
        scopes = [f"{self.oauth_scope.removesuffix('/.default')}/.default"]
        result = self._client.acquire_token_silent(scopes, account=None)
        if not result:
            result = self._client.acquire_token_for_client(scopes)
        if "access_token" not in result:
            raise PermissionError(result.get("error_description", "no token"))
        return str(result["access_token"])


class SandboxCredentialFactory(PasswordServiceClientCredentialFactory):  # type: ignore[misc]
    """Password credentials for the bot, built with `SandboxAppCredentials`."""

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> SandboxAppCredentials:
        """Credentials for `app_id` against `login_endpoint`."""
        if not await self.is_valid_app_id(app_id):
            raise PermissionError("Invalid app_id")
        return SandboxAppCredentials(app_id, self.password, login_endpoint, oauth_scope)


class BotSettings:
    """botbuilder's configuration object, filled from the sandbox config document."""

    def __init__(self, config: dict[str, Any]) -> None:
        bot = config["bot"]
        self.APP_ID = config["bot_app_id"]
        self.APP_PASSWORD = config["bot_app_secret"]
        self.APP_TYPE = "SingleTenant"
        self.APP_TENANTID = config["tenant_id"]
        self.TO_CHANNEL_FROM_BOT_LOGIN_URL = bot["to_channel_from_bot_login_url"]
        self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = bot["to_channel_from_bot_oauth_scope"]
        self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = bot["to_bot_from_channel_token_issuer"]
        metadata = bot["to_bot_from_channel_openid_metadata_url"]
        self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = metadata
        self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = metadata
        self.OAUTH_URL = bot["oauth_url"]
        self.VALIDATE_AUTHORITY = False


class EchoBot(ActivityHandler):  # type: ignore[misc]
    """Echoes text; `card` sends an Adaptive Card and then updates it; greets on install."""

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """An Action.Execute button: answer with a refreshed card naming the verb."""
        # botbuilder 4.17's CloudAdapter re-serializes the invoke body with msrest, so the
        # body must stay a model (ActivityHandler.on_adaptive_card_invoke hands it a dict).
        verb = (turn_context.activity.value or {}).get("action", {}).get("verb")
        card = {"type": "AdaptiveCard", "version": "1.5",
                "body": [{"type": "TextBlock", "text": f"done: {verb}"}]}
        answer = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
        )
        return InvokeResponse(status=200, body=answer)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        """The app was installed for the user."""
        await turn_context.send_activity("installed")

    async def on_members_added_activity(
        self, members_added: list[Any], turn_context: TurnContext
    ) -> None:
        """The bot joined the personal chat."""
        recipient = turn_context.activity.recipient.id
        if any(member.id != recipient for member in members_added):
            await turn_context.send_activity("welcome")

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Answer one message."""
        text = (turn_context.activity.text or "").strip()
        if text != "card":
            await turn_context.send_activity(f"echo: {text}")
            return
        card = {"type": "AdaptiveCard", "version": "1.5",
                "body": [{"type": "TextBlock", "text": "Syncing…"}]}
        sent = await turn_context.send_activity(
            MessageFactory.attachment(CardFactory.adaptive_card(card))
        )
        card["body"] = [{"type": "TextBlock", "text": "Synced 3 users"}]
        update = MessageFactory.attachment(CardFactory.adaptive_card(card))
        update.id = sent.id
        await turn_context.update_activity(update)


async def serve(config: dict[str, Any], lifetime: float) -> None:
    """Serve /api/messages on a free loopback port for at most `lifetime` seconds."""
    settings = BotSettings(config)
    factory = SandboxCredentialFactory(
        settings.APP_ID, settings.APP_PASSWORD, settings.APP_TENANTID
    )
    adapter = CloudAdapter(
        ConfigurationBotFrameworkAuthentication(settings, credentials_factory=factory)
    )
    bot = EchoBot()

    async def messages(request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = await adapter.process(request, bot)
        return response

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(json.dumps({"port": runner.addresses[0][1]}), flush=True)
    try:
        await asyncio.sleep(lifetime)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    document = json.loads(Path(sys.argv[1]).read_text())
    asyncio.run(serve(document, float(sys.argv[2]) if len(sys.argv) > 2 else 120.0))
