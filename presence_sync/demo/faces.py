"""What a person opens once the demo is ready: the tab, the tab inside Teams, the live page, chat.

The block names working addresses only: the tab's sign-in link carries `login_hint`, which the
sandbox's Entra sign-in honours without a click, so the Global Administrator's link lands on
the tab signed in and a non-admin's link on the tab's refusal. The product is served over
HTTPS on the sandbox's certificate (teams-js opens its pop-ups only for https pages), so the
browser must trust the sandbox's CA file or accept its warning once per address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from presence_sync.demo.console import Console

__all__ = ["Faces", "faces_of", "non_admin_email", "show_faces"]

LOGIN = "/tab/auth/login"
TAB = "/tab/"
TEAMS_HOST = "/_sandbox/teams/host"
LIVE_PAGE = "/_sandbox/"


@dataclass(frozen=True)
class Faces:
    """The addresses of the product's faces in a running demo, and the chat command."""

    admin: str
    non_admin: str | None  # None in an org too small to have one
    admin_tab: str
    non_admin_tab: str | None
    teams_tab: str
    live_page: str
    chat: str
    ca_file: str


def sign_in_link(product_url: str, email: str) -> str:
    """The tab's sign-in for `email` (it comes back to the tab)."""
    return f"{product_url}{LOGIN}?{urlencode({'login_hint': email}, safe='@')}"


def faces_of(
    product_url: str, sandbox_url: str, ca_file: str, *, admin: str, non_admin: str | None
) -> Faces:
    """The addresses a person opens for a product at `product_url` on the sandbox."""
    host = urlencode({"user": admin, "tab": f"{product_url}{TAB}", "theme": "default"}, safe="@:/")
    return Faces(
        admin=admin,
        non_admin=non_admin,
        admin_tab=sign_in_link(product_url, admin),
        non_admin_tab=sign_in_link(product_url, non_admin) if non_admin else None,
        teams_tab=f"{sandbox_url}{TEAMS_HOST}?{host}",
        live_page=f"{sandbox_url}{LIVE_PAGE}",
        chat=f"presence-sync chat --as {admin}",
        ca_file=ca_file,
    )


def non_admin_email(config: dict[str, Any], state: dict[str, Any]) -> str | None:
    """Someone on both platforms who is neither an admin nor a sync account, to be refused."""
    taken = {str(a["email"]).lower() for a in config.get("admins", [])}
    taken |= {str(a).lower() for a in config.get("sync_account_candidates", [])}
    for person in state.get("users", []):
        teams, rc = person.get("teams"), person.get("ringcentral")
        if not teams or not rc or not teams.get("accountEnabled") or teams.get("roles"):
            continue
        upn = str(teams["userPrincipalName"])
        if upn.lower() not in taken:
            return upn
    return None


def show_faces(say: Console, faces: Faces) -> None:
    """The block of addresses, each on its own line so a terminal makes it clickable."""
    say.heading("Open these (the browser must trust the sandbox CA, or accept its warning)")
    say.line(f"CA file          {faces.ca_file}")
    say.line(f"tab, as admin    {faces.admin_tab}")
    say.line(f"                 signed in as {faces.admin}, the Global Administrator")
    if faces.non_admin_tab is not None:
        say.line(f"tab, refused     {faces.non_admin_tab}")
        say.line(f"                 signed in as {faces.non_admin}, who is not an admin")
        say.line("                 (a private window, or it replaces the admin's session)")
    say.line(f"tab in Teams     {faces.teams_tab}")
    say.line("                 the sandbox's Teams page frames the tab; it signs in by SSO")
    say.line(f"live presence    {faces.live_page}")
    say.line(f"chat with bot    {faces.chat}")
