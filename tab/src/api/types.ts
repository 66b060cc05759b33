/** JSON shapes of the tab API, as written in the tab contract. Times are Unix seconds. */

export type StepName = "consent" | "sync-account" | "ringcentral" | "ringcentral-identity";

export interface SessionView {
  user: { name: string; email: string; oid: string };
  admin: boolean;
  reason: string | null;
  via: "sso" | "cookie";
  csrfToken: string | null;
  expiresAt: number;
}

export interface ConnectionState {
  state: string;
  reason: string | null;
  since: number | null;
  fix: string | null;
}

export interface MicrosoftState extends ConnectionState {
  tenantId: string | null;
  consentedBy: string | null;
  permissions: string[];
}

export interface SyncAccount extends ConnectionState {
  upn: string;
  covers: number;
}

export interface RingCentralState extends ConnectionState {
  mode: "jwt" | "oauth" | null;
  account: string | null;
  jwtConfigured: boolean;
  oauthConfigured: boolean;
}

/** One more RingCentral user presence writes are spread across (40 writes a minute each). */
export interface RingCentralIdentity {
  extensionId: string;
  extensionNumber: string | null;
  name: string | null;
  email: string | null;
  mode: "jwt" | "oauth" | null;
  state: string;
  reason: string | null;
  since: number | null;
  fix: string | null;
}

export interface WriteBudget {
  used: number;
  limit: number | null;
  windowSeconds: number;
  queued: number;
  identities: number;
  backlog: number;
  expectedDelaySeconds: number | null;
  p95DelaySeconds: number | null;
  advice: string | null;
}

export interface Warning {
  text: string;
  action: StepName | null;
}

export type JobStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface Job {
  id: string;
  kind: string;
  status: JobStatus;
  requestedBy: string;
  total: number;
  processed: number;
  synced: number;
  already: number;
  failed: number;
  unmatched: number;
  failures: { user: string; reason: string }[];
  createdAt: number;
  finishedAt: number | null;
  progress: number;
}

export interface StatusView {
  syncEnabled: boolean;
  microsoft: MicrosoftState;
  syncAccounts: SyncAccount[];
  ringcentral: RingCentralState;
  ringcentralIdentities: RingCentralIdentity[];
  counts: { linked: number; unmatched: number; synced: number; pendingUsers: number };
  coverage: { notified: number; polled: number; pollIntervalSeconds: number } | null;
  writeBudget: WriteBudget | null;
  warnings: Warning[];
  lastJob: Job | null;
}

export type PeopleFilter = "all" | "synced" | "not-synced" | "unmatched" | "failed";

export interface Person {
  id: string;
  email: string;
  displayName: string;
  teams: { id: string; upn: string };
  ringcentral: { extensionId: string; extensionNumber: string } | null;
  linked: boolean;
  synced: boolean;
  reason: string | null;
  lastError: string | null;
  teamsPresence: string | null;
  ringcentralPresence: string | null;
  lastSyncAt: number | null;
}

export interface PeoplePage {
  people: Person[];
  nextCursor: string | null;
}

export type PreviewKind = "sync-all" | "disable";

export interface Preview {
  kind: PreviewKind;
  linked: number;
  change: number;
  unchanged: number;
  unmatched: { reason: string; count: number }[];
}

export interface JobStarted {
  job: Job;
  created: boolean;
}

export type RuleName = "accept_all_calls" | "no_queue_calls" | "no_calls";
export type TeamsState = "busy" | "in_a_call" | "in_a_conference_call" | "in_a_meeting" | "offline";

export interface RuleRow {
  state: TeamsState;
  label: string;
  rule: RuleName;
  ruleLabel: string;
  ringcentral: string;
  note: string | null;
}

export interface Rules {
  version: number;
  syncEnabled: boolean;
  customisation: boolean;
  preserveDuringInactivity: boolean;
  rows: RuleRow[];
  choices: { rule: RuleName; label: string }[];
  defaults: Partial<Record<TeamsState, RuleName>>;
}

export interface RulesUpdate {
  version: number;
  customisation?: boolean;
  preserveDuringInactivity?: boolean;
  rules?: Partial<Record<TeamsState, RuleName>>;
}

export interface PresenceWrite {
  at: number;
  user: string;
  side: "ringcentral" | "teams";
  write: string;
  cause: string;
  result: string;
  message: string;
}

export interface AdminAction {
  at: number;
  actor: string;
  action: string;
  summary: string;
}

export interface Activity {
  writes: PresenceWrite[];
  jobs: Job[];
  admin: AdminAction[];
}

export interface TabConfig {
  clientId: string;
  validMessageOrigins: string[];
  productName: string;
}
