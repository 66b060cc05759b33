"""Every service of one replica, built in dependency order, each given what it needs.

    store → connections → the bot's channel (Bot Framework auth, chat notices)
          → sync (directory, jobs, notices, reconciler and its dispatcher) → watchers
          → admin use cases → the Teams bot's turns → the supervisor of every loop

`build_services` only constructs (no network, no look-ups); `Services.start` starts the loops
once the store has opened, and `Services.stop` stops them before anything they use closes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet

from bot.service import BotChannel, TeamsBot
from presence_sync.access import Admins
from presence_sync.admin import Admin
from presence_sync.connections import Connections
from presence_sync.graph.keys import TenantKeys, keys_url
from presence_sync.graph.validation import ValidationTokens
from presence_sync.private_files import private_file, private_folder
from presence_sync.providers import Providers
from presence_sync.settings import Settings
from presence_sync.store import open_store
from presence_sync.sync import SyncService
from presence_sync.sync.capacity import WriteCapacity, advise
from presence_sync.tasks import Loop, LoopPolicy, Supervisor, finish_within
from presence_sync.watch import Watchers, WatchOptions
from presence_sync.web.auth import EntraTokens, Sessions, SignInFlow, TabAuth
from presence_sync.web.auth.limits import login_limit, step_limit
from presence_sync.web.known_secrets import KnownSecrets
from presence_sync.web.readiness import StoreHandle
from presence_sync.web.webhooks import webhook_addresses

__all__ = ["Services", "Timing", "build_services", "build_tab_auth", "resolve_secret_key"]

logger = logging.getLogger(__name__)

# Shutdown is bounded: a store or provider that stopped answering must not hold it up.
STOP_TIMEOUT = 20.0


@dataclass(frozen=True)
class Timing:
    """The clock the product's timers run on (the sandbox's faster one in tests and the demo)."""

    clock: Callable[[], float] = time.time
    time_scale: float = 1.0  # clock seconds per real second (Retry-After counts real ones)


@dataclass
class Services:
    """The running parts of one replica."""

    settings: Settings
    store: StoreHandle
    connections: Connections
    sync: SyncService
    watchers: Watchers
    admin: Admin
    admins: Admins
    auth: TabAuth
    bot: TeamsBot
    supervisor: Supervisor
    validation_tokens: ValidationTokens
    known_secrets: KnownSecrets
    instance_id: str

    def loops(self) -> list[Loop]:
        """Every background loop of the replica."""
        return [
            Loop("connection-checks", partial(self.connections.run_rechecks, self.instance_id)),
            *self.sync.loops(),
            *self.watchers.loops(),
            *self.bot.loops(),
        ]

    async def start(self) -> None:
        """Open the store (retrying in the background) and start the loops once it is open."""
        _ensure_sqlite_folder(self.settings)
        await self.store.start()
        self.supervisor.start([Loop("start-when-store-opens", self._start_when_open)])

    async def _start_when_open(self) -> None:
        # The store may be down at start-up: the server serves, the loops wait.
        await self.store.wait_opened()
        self.supervisor.start(self.loops())

    async def stop(self) -> None:
        """Stop every loop, then let each service finish, then close the store."""
        await finish_within(STOP_TIMEOUT, self._stop_services(), "stopping the background loops")
        await self.store.close()

    async def _stop_services(self) -> None:
        await self.supervisor.stop()
        await self.watchers.stop()
        await self.sync.stop()
        await self.connections.close()
        if self.auth.signin is not None:
            await self.auth.signin.close()


def build_services(
    settings: Settings,
    http: aiohttp.ClientSession,
    *,
    instance_id: str,
    timing: Timing | None = None,
    providers: Providers | None = None,
    watch_options: WatchOptions | None = None,
    loop_policy: LoopPolicy | None = None,
    on_start: Callable[[str], None] | None = None,
    on_restart: Callable[[str], None] | None = None,
) -> Services:
    """Build the replica's services; `providers` replaces the connections' (tests only)."""
    timing = timing or Timing()
    store = StoreHandle(open_store(settings.store_url, resolve_secret_key(settings)))
    connections = Connections(
        settings,
        store.store,
        http,
        budget_clock=timing.clock,
        time_scale=timing.time_scale,
    )
    clients: Providers = providers if providers is not None else connections
    channel = BotChannel(settings, store.store, clients)
    sync = SyncService(
        store.store,
        clients,
        instance_id,
        clock=timing.clock,
        directory_interval=settings.watch_reconcile_interval,
        chat=channel.notices,
    )
    watchers = Watchers(
        store.store,
        settings,
        clients,
        instance_id,
        webhook_addresses(settings.public_url),
        watch_options or WatchOptions(clock=timing.clock, time_scale=timing.time_scale),
        hand_over=sync.reconciler.hand_over,
    )
    admin = Admin(
        store.store, timing.clock, coverage=watchers.coverage, on_job_queued=sync.jobs.wake
    )
    # One admin rule for the bot and the tab, with one cache of directory roles.
    admins = Admins(settings.admin_emails, clients)

    async def capacity() -> WriteCapacity:
        return advise(await sync.dispatcher.capacity(), settings.ringcentral_delay_alert)

    bot = TeamsBot(channel, store.store, admin, clients, timing.clock, admins, capacity)
    tenant = settings.microsoft_tenant_id or ""
    # One copy of the tenant's signing keys for Graph's validation tokens and the tab's sign-in.
    tenant_keys = TenantKeys(
        lambda: http, keys_url(settings.microsoft_authority_host, tenant or "common"), timing.clock
    )
    validation_tokens = ValidationTokens(
        http=lambda: http,
        keys_url=tenant_keys.url,
        app_id=settings.microsoft_client_id or "",
        tenant_id=tenant,
        keys=tenant_keys,
    )
    return Services(
        auth=build_tab_auth(settings, http, store, admins, tenant_keys, timing),
        settings=settings,
        store=store,
        connections=connections,
        sync=sync,
        watchers=watchers,
        admin=admin,
        admins=admins,
        bot=bot,
        supervisor=Supervisor(loop_policy, on_start=on_start, on_restart=on_restart),
        validation_tokens=validation_tokens,
        known_secrets=KnownSecrets(),
        instance_id=instance_id,
    )


def build_tab_auth(
    settings: Settings,
    http: aiohttp.ClientSession,
    store: StoreHandle,
    admins: Admins,
    keys: TenantKeys,
    timing: Timing,
) -> TabAuth:
    """Sign-in for the admin routes: the product's own Entra app checks who is calling."""
    clock = timing.clock
    tokens = signin = None
    tenant, client_id = settings.microsoft_tenant_id, settings.microsoft_client_id
    if tenant and client_id:
        tokens = EntraTokens(
            http,
            authority_host=settings.microsoft_authority_host,
            tenant=tenant,
            client_id=client_id,
            public_url=settings.public_url,
            keys=keys,
            clock=clock,
        )
        if settings.microsoft_client_secret:
            signin = SignInFlow(
                client_id=client_id,
                client_secret=settings.microsoft_client_secret,
                authority=f"{settings.microsoft_authority_host.rstrip('/')}/{tenant}",
                ca_file=settings.ca_file,
                timeout=settings.http_timeout,
            )
    return TabAuth(
        public_url=settings.public_url,
        tokens=tokens,
        signin=signin,
        # Sessions and tickets last in real time, whatever clock the product's timers run on.
        sessions=Sessions(store.store, resolve_secret_key(settings)),
        admins=admins,
        # Counted in the store, so every replica shares one limit; windows run on the clock.
        starts=step_limit(store.store, clock, timing.time_scale),
        logins=login_limit(store.store, clock, timing.time_scale),
    )


def _ensure_sqlite_folder(settings: Settings) -> None:
    if settings.store_url.startswith("sqlite:///"):
        target = settings.store_url[len("sqlite:///") :]
        if target != ":memory:":
            folder = Path(target).parent
            # The data folder is the product's own: tighten it even if an older version made it.
            private_folder(folder, tighten=folder.resolve() == settings.data_dir.resolve())


def resolve_secret_key(settings: Settings) -> bytes:
    """The key that encrypts secrets at rest: SECRET_KEY, else a key file in the data folder."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    private_folder(path.parent)
    if path.is_file():
        private_file(path)  # an older version may have left it readable
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    # Create with 0600 from the start: the key must never be readable by other users.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    if not settings.store_url.startswith("sqlite"):
        logger.warning(
            "SECRET_KEY is not set: generated %s; every replica sharing this store needs the "
            "same key, so set SECRET_KEY explicitly",
            path,
        )
    return key
