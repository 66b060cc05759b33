"""The sandbox organisation: generated deterministically from a seed, or loaded from JSON.

A generated org of N people holds, at stable positions:

- index 0: `admin@<domain>`, Global Administrator, on both sides;
- index 1: `teams.admin@<domain>`, Teams Administrator, on both sides;
- index 2..: `sync<k>@<domain>` service accounts (Teams only), the sync accounts' candidates,
  one per 650 people and at least two;
- everyone else: ordinary people, of whom about a third are deliberately mismatched
  (RingCentral only, Teams only, disabled on one side, email case differences, `mail`
  differing from `userPrincipalName`, duplicate RingCentral emails).

The same `(users, seed, rc_mode)` always yields the same org, ids included.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sandbox.model import (
    CallQueue,
    Org,
    RcExtension,
    TeamsPresence,
    TeamsSession,
    TeamsUser,
)

__all__ = [
    "GLOBAL_ADMIN",
    "SHARD_SIZE",
    "TEAMS_ADMIN",
    "dump_org",
    "generate_org",
    "load_org",
    "org_from_dict",
]

DOMAIN = "contoso.example"
GLOBAL_ADMIN = "Global Administrator"
TEAMS_ADMIN = "Teams Administrator"
SHARD_SIZE = 650  # users per Graph presence subscription, hence per sync account
TEAMS_CLIENT = "teams-client"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Adele Alex Allan Amara Ana Anders Aiko Bianca Bruno Carla Chen Chidi Dana Diego Elena "
    "Emeka Erik Fatima Felix Grace Hana Hugo Ines Isaac Jana Jonas Julia Kai Karin Kenji Lara "
    "Lena Leo Lidia Lukas Maria Mateo Megan Mei Miriam Nadia Nestor Nia Noah Olga Omar Pablo "
    "Patti Priya Quinn Rafael Ravi Rosa Sami Sara Sofia Tariq Tomas Uma Viktor Wei Yara Yusuf "
    "Zoe"
)
LAST_NAMES = _words(
    "Adams Alvarez Andersen Bauer Becker Bowen Brooks Campbell Castro Chen Costa Diaz Dubois "
    "Eriksen Evans Fischer Fontaine Garcia Gomez Grant Haddad Hansen Hoffmann Ito Jensen Kaur "
    "Keller Kim Kowalski Lambert Larsen Lee Lopez Martin Meyer Moreau Murphy Nakamura Nguyen "
    "Novak Okafor Olsen Patel Perez Petrov Quinn Rossi Santos Sato Schmidt Silva Singh Suzuki "
    "Tanaka Torres Vance Wagner Walker Weber Wilber Wong Yilmaz Young Zimmermann"
)

# One slot per person in a repeating cycle of 25, so every mismatch kind appears in a
# 40-person org and the proportions hold at 50,000.
CYCLE = 25
KINDS: dict[int, str] = {
    2: "rc_only",
    4: "case",
    6: "mail_differs",
    9: "teams_only",
    11: "teams_disabled",
    14: "rc_disabled",
    16: "case",
    18: "duplicate_rc_email",
    20: "mail_differs",
    22: "signed_out",
}


class _Ids:
    """Deterministic identifiers drawn from one random stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next_ext = 62_000_000_000 + rng.randrange(1000) * 1000

    def guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def extension_id(self) -> str:
        self._next_ext += self._rng.randrange(1, 9)
        return str(self._next_ext)


def _names(rng: random.Random) -> Iterator[tuple[str, str]]:
    """Endless unique (display name, local part) pairs."""
    used: dict[str, int] = {}
    while True:
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        base = f"{first}.{last}".lower()
        n = used.get(base, 0) + 1
        used[base] = n
        yield f"{first} {last}", base if n == 1 else f"{base}{n}"


def _signed_in() -> TeamsPresence:
    session = TeamsSession(TEAMS_CLIENT, "Available", "Available", expires_at=None)
    return TeamsPresence(sessions={TEAMS_CLIENT: session})


def _mixed_case(local: str) -> str:
    # RingCentral admins often type emails by hand: "Lena.Becker@Contoso.example".
    parts = [p.capitalize() for p in local.split(".")]
    return ".".join(parts)


def generate_org(users: int = 40, seed: int = 0, rc_mode: str = "legacy") -> Org:
    """A deterministic org of `users` people (see the module docstring for who is who)."""
    if users < 2:
        raise ValueError("users: at least 2 (a Global Administrator and a Teams Administrator)")
    if rc_mode not in ("legacy", "chs"):
        raise ValueError("rc_mode: 'legacy' or 'chs'")
    rng = random.Random(seed)
    ids = _Ids(rng)
    org = Org(
        tenant_id=ids.guid(),
        tenant_domain=DOMAIN,
        rc_account_id=str(rng.randrange(400_000_000, 499_999_999)),
        rc_mode="chs" if rc_mode == "chs" else "legacy",
    )
    ext_number = 101
    names = _names(rng)
    upns: set[str] = set()

    def add_teams(name: str, upn: str, mail: str | None, **extra: Any) -> TeamsUser:
        user = TeamsUser(ids.guid(), name, upn, mail, **extra)
        org.teams_users[user.id] = user
        return user

    def add_rc(name: str, email: str | None, **extra: Any) -> RcExtension:
        nonlocal ext_number
        ext = RcExtension(ids.extension_id(), str(ext_number), name, email, **extra)
        ext_number += 1
        org.rc_extensions[ext.id] = ext
        return ext

    admins = [("Avery Admin", "admin", GLOBAL_ADMIN), ("Taylor Teams", "teams.admin", TEAMS_ADMIN)]
    for name, local, role in admins:
        email = f"{local}@{DOMAIN}"
        add_teams(name, email, email, roles=[role], presence=_signed_in())
        add_rc(name, email)
    sync_accounts = min(users - 2, max(2, -(-users // SHARD_SIZE)))
    for k in range(1, sync_accounts + 1):
        email = f"sync{k}@{DOMAIN}"
        add_teams(f"Presence Sync {k}", email, email, presence=_signed_in())

    for index in range(users - 2 - sync_accounts):
        kind = KINDS.get(index % CYCLE, "matched")
        name, local = next(names)
        upn = f"{local}@{DOMAIN}"
        mail = upn
        rc_email: str | None = upn
        if kind == "case":
            rc_email = f"{_mixed_case(local)}@{DOMAIN.capitalize()}"
        elif kind == "mail_differs":
            # UPN is the short login; mail (and RingCentral) hold the first.last address.
            short = f"{local[0]}{local.split('.', 1)[1]}"
            upn = f"{short}@{DOMAIN}"
            n = 1
            while upn in upns:
                n += 1
                upn = f"{short}{n}@{DOMAIN}"
            rc_email = mail
        upns.add(upn)
        if kind != "rc_only":
            offline = kind in ("signed_out", "teams_disabled")
            add_teams(
                name,
                upn,
                mail,
                account_enabled=kind != "teams_disabled",
                presence=TeamsPresence() if offline else _signed_in(),
            )
        if kind != "teams_only":
            add_rc(name, rc_email, status="Disabled" if kind == "rc_disabled" else "Enabled")
        if kind == "duplicate_rc_email":
            # A second extension (e.g. a desk phone set up for the same person) with the same email.
            add_rc(f"{name} (desk)", rc_email)

    _add_queues_and_announcements(org, rng, ids, ext_number)
    return org


def _add_queues_and_announcements(
    org: Org, rng: random.Random, ids: _Ids, next_number: int
) -> None:
    people = [e for e in org.rc_extensions.values() if e.type == "User" and e.status == "Enabled"]
    queues = max(2, min(200, len(people) // 40))
    names = ("Support", "Sales", "Billing", "Front Desk", "IT Help", "Reception", "Returns")
    # Queues take 8001.., announcements 9001.., unless the people's numbers already reach there.
    number = 8001 if next_number <= 8001 else (next_number // 1000 + 1) * 1000 + 1
    for q in range(queues):
        label = names[q % len(names)] + ("" if q < len(names) else f" {q // len(names) + 1}")
        ext = RcExtension(ids.extension_id(), str(number), label, None, type="Department")
        number += 1
        org.rc_extensions[ext.id] = ext
        size = min(len(people), rng.randrange(3, 11))
        members = rng.sample(people, size)
        queue = CallQueue(ext.id, label, ext.extension_number, [m.id for m in members])
        org.call_queues[queue.id] = queue
        for member in members:
            member.queue_ids.append(queue.id)
    number = max(9001, (number // 1000 + 1) * 1000 + 1)
    for a in range(max(1, len(people) // 500)):
        ext = RcExtension(
            ids.extension_id(), str(number + a), f"Office Hours {a + 1}", None, type="Announcement"
        )
        org.rc_extensions[ext.id] = ext


def dump_org(org: Org) -> dict[str, Any]:
    """The org in the seed JSON format that `load_org` reads."""

    def presence(user: TeamsUser) -> dict[str, str] | None:
        session = user.presence.sessions.get(TEAMS_CLIENT)
        if session is None:
            return None
        return {"availability": session.availability, "activity": session.activity}

    return {
        "tenant_id": org.tenant_id,
        "tenant_domain": org.tenant_domain,
        "rc_account_id": org.rc_account_id,
        "rc_mode": org.rc_mode,
        "teams_users": [
            {
                "id": u.id,
                "display_name": u.display_name,
                "user_principal_name": u.user_principal_name,
                "mail": u.mail,
                "account_enabled": u.account_enabled,
                "roles": list(u.roles),
                "presence": presence(u),
            }
            for u in org.teams_users.values()
        ],
        "rc_extensions": [
            {
                "id": e.id,
                "extension_number": e.extension_number,
                "name": e.name,
                "email": e.email,
                "type": e.type,
                "status": e.status,
            }
            for e in org.rc_extensions.values()
            if e.id not in org.call_queues
        ],
        "call_queues": [
            {
                "id": q.id,
                "name": q.name,
                "extension_number": q.extension_number,
                "member_ids": list(q.member_ids),
            }
            for q in org.call_queues.values()
        ],
    }


def _require(item: dict[str, Any], key: str, where: str) -> Any:
    if key not in item:
        raise ValueError(f"{where}: missing {key!r}")
    return item[key]


def org_from_dict(data: dict[str, Any]) -> Org:
    """Build an org from the seed JSON format; raises ValueError naming the bad entry."""
    domain = str(data.get("tenant_domain", DOMAIN))
    tenant_id = str(data.get("tenant_id") or uuid.uuid5(uuid.NAMESPACE_DNS, domain))
    rc_mode = data.get("rc_mode", "legacy")
    if rc_mode not in ("legacy", "chs"):
        raise ValueError("rc_mode: 'legacy' or 'chs'")
    org = Org(tenant_id, domain, str(data.get("rc_account_id", "400000001")), rc_mode=rc_mode)
    for i, item in enumerate(data.get("teams_users", [])):
        where = f"teams_users[{i}]"
        upn = str(_require(item, "user_principal_name", where))
        presence = item.get("presence", {"availability": "Available", "activity": "Available"})
        user = TeamsUser(
            id=str(item.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, f"teams:{upn.lower()}")),
            display_name=str(item.get("display_name") or upn.split("@")[0]),
            user_principal_name=upn,
            mail=item.get("mail", upn),
            account_enabled=bool(item.get("account_enabled", True)),
            roles=[str(r) for r in item.get("roles", [])],
        )
        if presence:
            session = TeamsSession(
                TEAMS_CLIENT, str(presence["availability"]), str(presence["activity"]), None
            )
            user.presence.sessions[TEAMS_CLIENT] = session
        if user.id in org.teams_users:
            raise ValueError(f"{where}: duplicate id {user.id}")
        org.teams_users[user.id] = user
    next_id = 62_000_000_001
    for i, item in enumerate(data.get("rc_extensions", [])):
        where = f"rc_extensions[{i}]"
        ext = RcExtension(
            id=str(item.get("id") or next_id + i),
            extension_number=str(item.get("extension_number") or 101 + i),
            name=str(_require(item, "name", where)),
            email=item.get("email"),
            type=str(item.get("type", "User")),
            status=str(item.get("status", "Enabled")),
        )
        if ext.id in org.rc_extensions:
            raise ValueError(f"{where}: duplicate id {ext.id}")
        org.rc_extensions[ext.id] = ext
    by_email = {e.email.lower(): e for e in org.rc_extensions.values() if e.email}
    for i, item in enumerate(data.get("call_queues", [])):
        where = f"call_queues[{i}]"
        name = str(_require(item, "name", where))
        queue_id = str(item.get("id") or next_id + 100_000 + i)
        members: list[str] = []
        for ref in [*item.get("member_ids", []), *item.get("members", [])]:
            member = org.rc_extensions.get(str(ref)) or by_email.get(str(ref).lower())
            if member is None:
                raise ValueError(f"{where}: unknown member {ref!r}")
            members.append(member.id)
            member.queue_ids.append(queue_id)
        number = str(item.get("extension_number") or 8001 + i)
        org.call_queues[queue_id] = CallQueue(queue_id, name, number, members)
        org.rc_extensions[queue_id] = RcExtension(queue_id, number, name, None, type="Department")
    return org


def load_org(path: str | Path) -> Org:
    """Read an org from a seed JSON file (format in sandbox/README.md)."""
    with Path(path).open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the seed file must hold a JSON object")
    return org_from_dict(data)
