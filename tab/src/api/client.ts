/**
 * The tab API client: every call goes through one `request()` that owns auth, CSRF,
 * status → error mapping and decoding.
 *
 * Errors: `ApiError` (the server answered with an error status; `message` is the server's
 * own sentence, which names what to fix) and, below it, `NetworkError` (no answer at all).
 */
import type {
  Activity,
  Job,
  JobStarted,
  PeopleFilter,
  PeoplePage,
  Preview,
  PreviewKind,
  RingCentralIdentity,
  Rules,
  RulesUpdate,
  SessionView,
  StatusView,
  StepName,
  TabConfig,
} from "./types";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Gets an Entra token for the tab; `fresh` asks for a new one after a 401. */
export type TokenProvider = (fresh: boolean) => Promise<string>;

/** How the client proves who is calling: a Teams SSO bearer, or the browser's cookie session. */
export type AuthMode = { kind: "bearer"; getToken: TokenProvider } | { kind: "cookie" };

const STATUS_TEXT: Record<number, string> = {
  400: "The request was not accepted",
  401: "You are not signed in",
  403: "You are not allowed to do this",
  404: "Not found",
  409: "Someone else changed this at the same time",
  502: "RingCentral or Microsoft did not answer as expected",
  503: "Presence Sync is not ready",
};

/** The server answered with an error; `message` is readable and says what to fix. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The server's current version of what was being changed (409 on settings). */
  readonly current: unknown;

  constructor(status: number, code: string, message: string, current?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.current = current;
  }
}

/** The server could not be reached at all. */
export class NetworkError extends ApiError {
  constructor(cause: unknown) {
    super(0, "network", "Could not reach the Presence Sync server. Check your connection and try again.");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

/** Turns any thrown value into a sentence a person can act on. */
export function readableError(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error && err.message) return err.message;
  return "Something went wrong. Try again.";
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): fall back to the status.
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === "string" ? error.code : `http_${response.status}`;
  const fallback = `${STATUS_TEXT[response.status] ?? "The server answered with an error"} (HTTP ${response.status}).`;
  const message = typeof error?.message === "string" && error.message ? error.message : fallback;
  const current = (body as { current?: unknown } | null)?.current;
  return new ApiError(response.status, code, message, current);
}

interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
}

/** Calls the tab API; one instance per page load, built with the auth mode the host allows. */
export class ApiClient {
  private readonly fetcher: FetchLike;
  private readonly auth: AuthMode;
  private csrfToken: string | null = null;

  constructor(fetcher: FetchLike, auth: AuthMode) {
    // Keep `this` of the global fetch: calling it unbound throws in browsers.
    this.fetcher = (input, init) => fetcher(input, init);
    this.auth = auth;
  }

  /** The auth mode: "bearer" in Teams, "cookie" in a plain browser. */
  get mode(): AuthMode["kind"] {
    return this.auth.kind;
  }

  /** Remembers the CSRF token of the cookie session, sent on every change. */
  setCsrfToken(token: string | null): void {
    this.csrfToken = token;
  }

  /** The one seam every call goes through. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const url = withQuery(path, options.query);
    let response = await this.send(url, options, false);
    if (response.status === 401 && this.auth.kind === "bearer") {
      // Teams may hand out a cached token the server already considers expired.
      response = await this.send(url, options, true);
    }
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(url: string, options: RequestOptions, freshToken: boolean): Promise<Response> {
    const method = options.method ?? "GET";
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (this.auth.kind === "bearer") {
      headers.Authorization = `Bearer ${await this.auth.getToken(freshToken)}`;
    } else if (method !== "GET" && this.csrfToken) {
      headers["X-CSRF-Token"] = this.csrfToken;
    }
    const init: RequestInit = {
      method,
      headers,
      credentials: this.auth.kind === "cookie" ? "same-origin" : "omit",
    };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    try {
      return await this.fetcher(url, init);
    } catch (err) {
      throw new NetworkError(err);
    }
  }

  // --- session -------------------------------------------------------------------------

  /** Who is signed in; remembers the CSRF token for later changes. */
  async session(): Promise<SessionView> {
    const session = await this.request<SessionView>("/api/tab/session");
    if (this.auth.kind === "cookie") this.setCsrfToken(session.csrfToken);
    return session;
  }

  /** Ends the cookie session. */
  logout(): Promise<void> {
    return this.request<void>("/tab/auth/logout", { method: "POST" });
  }

  // --- overview ------------------------------------------------------------------------

  status(): Promise<StatusView> {
    return this.request<StatusView>("/api/tab/status");
  }

  /** A one-time URL for a pop-up step (consent, sync account, RingCentral sign-in). */
  async stepUrl(step: StepName, loginHint?: string): Promise<string> {
    const body: { step: StepName; loginHint?: string } = { step };
    if (loginHint) body.loginHint = loginHint;
    const answer = await this.request<{ url: string }>("/api/tab/steps", { method: "POST", body });
    return answer.url;
  }

  connectRingCentralJwt(): Promise<StatusView> {
    return this.request<StatusView>("/api/tab/ringcentral/connect", { method: "POST", body: {} });
  }

  addRingCentralIdentity(jwt: string): Promise<RingCentralIdentity> {
    return this.request<RingCentralIdentity>("/api/tab/ringcentral/identities", { method: "POST", body: { jwt } });
  }

  removeRingCentralIdentity(extensionId: string): Promise<void> {
    return this.request<void>(`/api/tab/ringcentral/identities/${encodeURIComponent(extensionId)}`, { method: "DELETE" });
  }

  removeSyncAccount(upn: string): Promise<void> {
    return this.request<void>(`/api/tab/sync-accounts/${encodeURIComponent(upn)}`, { method: "DELETE" });
  }

  // --- people --------------------------------------------------------------------------

  people(params: { filter: PeopleFilter; search?: string; cursor?: string | null; limit?: number }): Promise<PeoplePage> {
    return this.request<PeoplePage>("/api/tab/people", {
      query: { filter: params.filter, search: params.search || undefined, cursor: params.cursor, limit: params.limit ?? 50 },
    });
  }

  syncPeople(ids: string[]): Promise<JobStarted> {
    return this.request<JobStarted>("/api/tab/people/sync", { method: "POST", body: { ids } });
  }

  unsyncPeople(ids: string[]): Promise<JobStarted> {
    return this.request<JobStarted>("/api/tab/people/unsync", { method: "POST", body: { ids } });
  }

  preview(kind: PreviewKind): Promise<Preview> {
    return this.request<Preview>("/api/tab/preview", { query: { kind } });
  }

  syncAll(): Promise<JobStarted> {
    return this.request<JobStarted>("/api/tab/sync-all", { method: "POST", body: {} });
  }

  disable(version: number): Promise<Rules> {
    return this.request<Rules>("/api/tab/disable", { method: "POST", body: { version } });
  }

  enable(version: number): Promise<Rules> {
    return this.request<Rules>("/api/tab/enable", { method: "POST", body: { version } });
  }

  // --- jobs ----------------------------------------------------------------------------

  jobs(limit = 20): Promise<{ jobs: Job[] }> {
    return this.request<{ jobs: Job[] }>("/api/tab/jobs", { query: { limit } });
  }

  job(id: string): Promise<Job> {
    return this.request<Job>(`/api/tab/jobs/${encodeURIComponent(id)}`);
  }

  /** Where the job's server-sent events are streamed (cookie sessions only). */
  jobEventsUrl(id: string): string {
    return `/api/tab/jobs/${encodeURIComponent(id)}/events`;
  }

  retryFailed(id: string): Promise<JobStarted> {
    return this.request<JobStarted>(`/api/tab/jobs/${encodeURIComponent(id)}/retry-failed`, { method: "POST", body: {} });
  }

  cancelJob(id: string): Promise<Job> {
    return this.request<Job>(`/api/tab/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST", body: {} });
  }

  // --- rules ---------------------------------------------------------------------------

  rules(): Promise<Rules> {
    return this.request<Rules>("/api/tab/rules");
  }

  saveRules(update: RulesUpdate): Promise<Rules> {
    return this.request<Rules>("/api/tab/rules", { method: "PUT", body: update });
  }

  resetRules(version: number): Promise<Rules> {
    return this.request<Rules>("/api/tab/rules/reset", { method: "POST", body: { version } });
  }

  // --- activity ------------------------------------------------------------------------

  activity(limit = 50): Promise<Activity> {
    return this.request<Activity>("/api/tab/activity", { query: { limit } });
  }
}

/** Reads /tab/config.json; a missing or broken file means no extra host origins. */
export async function loadConfig(fetcher: FetchLike, url = "/tab/config.json"): Promise<TabConfig> {
  const fallback: TabConfig = { clientId: "", validMessageOrigins: [], productName: "Presence Sync" };
  try {
    const response = await fetcher(url, { credentials: "same-origin" });
    if (!response.ok) return fallback;
    const body = (await response.json()) as Partial<TabConfig>;
    return {
      clientId: typeof body.clientId === "string" ? body.clientId : "",
      validMessageOrigins: Array.isArray(body.validMessageOrigins)
        ? body.validMessageOrigins.filter((o): o is string => typeof o === "string")
        : [],
      productName: typeof body.productName === "string" && body.productName ? body.productName : "Presence Sync",
    };
  } catch {
    return fallback;
  }
}

function withQuery(path: string, query: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
