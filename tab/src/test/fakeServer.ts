/** A fake tab API behind a `fetch` function: routes answer JSON, every call is recorded. */
import { ApiClient, type AuthMode, type FetchLike } from "../api/client";
import { makeJobWatcher, type EventSourceFactory } from "../api/jobs";
import type { Job, Person, Rules, SessionView, StatusView } from "../api/types";
import type { Host } from "../host";
import type { Services } from "../store";

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
}

export type Answer = { status?: number; body?: unknown } | Response;
export type Route = (call: Call) => Answer | Promise<Answer>;

export class FakeServer {
  readonly calls: Call[] = [];
  private readonly routes = new Map<string, Route>();

  /** Answers `METHOD /path` (query ignored) with `route`. */
  on(key: string, route: Route | Answer): this {
    this.routes.set(key, typeof route === "function" ? route : () => route);
    return this;
  }

  callsTo(key: string): Call[] {
    return this.calls.filter((c) => `${c.method} ${c.path}` === key);
  }

  readonly fetch: FetchLike = async (input, init = {}) => {
    const url = new URL(input, "http://tab.test");
    const headers = Object.fromEntries(Object.entries((init.headers as Record<string, string>) ?? {}));
    const call: Call = {
      method: init.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    };
    this.calls.push(call);
    const route = this.routes.get(`${call.method} ${call.path}`);
    if (!route) return json(404, { error: { code: "not_found", message: `No fake for ${call.method} ${call.path}` } });
    const answer = await route(call);
    if (answer instanceof Response) return answer;
    return answer.status === 204 ? new Response(null, { status: 204 }) : json(answer.status ?? 200, answer.body ?? {});
  };
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

export function error(status: number, code: string, message: string, extra: object = {}): Answer {
  return { status, body: { error: { code, message }, ...extra } };
}

export const adminSession: SessionView = {
  user: { name: "Ada Admin", email: "admin@contoso.example", oid: "oid-ada" },
  admin: true,
  reason: null,
  via: "cookie",
  csrfToken: "csrf-123",
  expiresAt: 1764000000,
};

export function job(overrides: Partial<Job> = {}): Job {
  return {
    id: "job-1",
    kind: "sync users",
    status: "running",
    requestedBy: "admin@contoso.example",
    total: 10,
    processed: 0,
    synced: 0,
    already: 0,
    failed: 0,
    unmatched: 0,
    failures: [],
    createdAt: 1764000000,
    finishedAt: null,
    progress: 0,
    ...overrides,
  };
}

export function person(n: number, overrides: Partial<Person> = {}): Person {
  return {
    id: `p${n}`,
    email: `user${n}@contoso.example`,
    displayName: `User ${n}`,
    teams: { id: `t${n}`, upn: `user${n}@contoso.example` },
    ringcentral: { extensionId: `e${n}`, extensionNumber: `${100 + n}` },
    linked: true,
    synced: false,
    reason: null,
    lastError: null,
    teamsPresence: "Available/Available",
    ringcentralPresence: "Available, TakeAllCalls",
    lastSyncAt: null,
    ...overrides,
  };
}

export function status(overrides: Partial<StatusView> = {}): StatusView {
  return {
    syncEnabled: true,
    microsoft: {
      state: "connected",
      reason: null,
      since: 1764000000,
      fix: null,
      tenantId: "tenant",
      consentedBy: "admin@contoso.example",
      permissions: ["Presence.ReadWrite.All"],
    },
    syncAccounts: [{ upn: "sync1@contoso.example", state: "connected", reason: null, since: 1764000000, fix: null, covers: 120 }],
    ringcentral: {
      state: "connected",
      reason: null,
      since: 1764000000,
      fix: null,
      mode: "jwt",
      account: "123",
      jwtConfigured: true,
      oauthConfigured: true,
    },
    counts: { linked: 480, unmatched: 20, synced: 450, pendingUsers: 3 },
    coverage: { notified: 400, polled: 80, pollIntervalSeconds: 30 },
    ringcentralIdentities: [],
    writeBudget: {
      used: 12,
      limit: 40,
      windowSeconds: 60,
      queued: 0,
      identities: 1,
      backlog: 0,
      expectedDelaySeconds: 0,
      p95DelaySeconds: 4,
      advice: null,
    },
    warnings: [],
    lastJob: null,
    ...overrides,
  };
}

const LABELS = { accept_all_calls: "Accept all calls", no_queue_calls: "Do not accept queue calls", no_calls: "Do not accept any calls" };
const DND = { accept_all_calls: "TakeAllCalls", no_queue_calls: "DoNotAcceptDepartmentCalls", no_calls: "DoNotAcceptAnyCalls" };
const NOTE = "Teams often reports a meeting as a call; set In a call and In a meeting alike.";

/** Rules as the server renders them, with `rules` overriding the defaults. */
export function rules(version = 7, chosen: Partial<Record<string, keyof typeof LABELS>> = {}, overrides: Partial<Rules> = {}): Rules {
  const defaults = {
    busy: "accept_all_calls",
    in_a_call: "no_queue_calls",
    in_a_conference_call: "no_queue_calls",
    in_a_meeting: "no_queue_calls",
    offline: "accept_all_calls",
  } as const;
  const names = { busy: "Busy", in_a_call: "In a call", in_a_conference_call: "In a conference call", in_a_meeting: "In a meeting", offline: "Offline" };
  return {
    version,
    syncEnabled: true,
    customisation: false,
    preserveDuringInactivity: false,
    rows: (Object.keys(defaults) as (keyof typeof defaults)[]).map((state) => {
      const rule = chosen[state] ?? defaults[state];
      return {
        state,
        label: names[state],
        rule,
        ruleLabel: LABELS[rule],
        ringcentral: `${state === "offline" ? "Offline" : "Busy"} · ${LABELS[rule]} (${DND[rule]})`,
        note: state === "in_a_call" || state === "in_a_meeting" ? NOTE : null,
      };
    }),
    choices: (Object.keys(LABELS) as (keyof typeof LABELS)[]).map((rule) => ({ rule, label: LABELS[rule] })),
    defaults,
    ...overrides,
  };
}

/** A browser host that records the steps it was asked to open. */
export function fakeHost(overrides: Partial<Host> = {}): Host {
  return {
    inTeams: false,
    theme: "default",
    onThemeChange() {},
    async openStep(_step, getUrl) {
      await getUrl();
      return { ok: true, title: "Done" };
    },
    goTo() {},
    ...overrides,
  };
}

/** A fake EventSource: tests push events with `emit`. */
export class FakeEventSource {
  static last: FakeEventSource | null = null;
  readonly url: string;
  closed = false;
  private readonly listeners = new Map<string, ((event: MessageEvent) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.last = this;
  }

  addEventListener(type: string, listener: (event: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  emit(type: string, data?: unknown): void {
    const event = new MessageEvent(type, { data: data === undefined ? undefined : JSON.stringify(data) });
    for (const l of this.listeners.get(type) ?? []) l(event);
  }

  close(): void {
    this.closed = true;
  }

  static factory: EventSourceFactory = (url) => new FakeEventSource(url);
}

/** Services for rendering the app against `server`, in cookie mode unless told otherwise. */
export function services(server: FakeServer, options: { auth?: AuthMode; host?: Host; eventSource?: EventSourceFactory | null } = {}): Services {
  const api = new ApiClient(server.fetch, options.auth ?? { kind: "cookie" });
  return {
    api,
    host: options.host ?? fakeHost(),
    watchJob: makeJobWatcher(api, { eventSource: options.eventSource === undefined ? FakeEventSource.factory : options.eventSource, intervalMs: 20 }),
  };
}

/** A server with a signed-in admin and an ordinary organisation. */
export function adminServer(): FakeServer {
  return new FakeServer()
    .on("GET /api/tab/session", { body: adminSession })
    .on("GET /api/tab/status", { body: status() })
    .on("GET /api/tab/rules", { body: rules() })
    .on("GET /api/tab/people", { body: { people: [person(1), person(2, { synced: true })], nextCursor: null } })
    .on("GET /api/tab/activity", { body: { writes: [], jobs: [], admin: [] } });
}
