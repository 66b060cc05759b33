/** People: search, filter, server-side paging, per-row and bulk Sync / Unsync, Sync all, Disable. */
import {
  Badge,
  Button,
  Checkbox,
  Field,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  SearchBox,
  Select,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  Toolbar,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { useCallback, useEffect, useMemo, useState } from "react";
import { readableError } from "../api/client";
import type { JobStarted, PeopleFilter, Person, Preview, PreviewKind, StatusView } from "../api/types";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { JobPanel } from "../components/JobPanel";
import { Page, Section } from "../components/layout";
import { EmptyState, ErrorState, Loading } from "../components/states";
import { useLoad } from "../components/useLoad";
import { formatCount, formatRecent, people } from "../format";
import { useApp } from "../store";

export const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 250;

const FILTERS: { value: PeopleFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "synced", label: "Synced" },
  { value: "not-synced", label: "Not synced" },
  { value: "unmatched", label: "Unmatched" },
  { value: "failed", label: "Failed" },
];

const useStyles = makeStyles({
  controls: { display: "flex", gap: tokens.spacingHorizontalM, alignItems: "flex-end", flexWrap: "wrap" },
  toolbar: { flexWrap: "wrap", gap: tokens.spacingHorizontalS, padding: 0 },
  // Fluent tables are fixed-layout; presence strings need columns sized to their content.
  table: { tableLayout: "auto", overflowWrap: "break-word" },
  tableWrap: { overflowX: "auto" },
  caption: { textAlign: "start", padding: `${tokens.spacingVerticalXS} 0`, color: tokens.colorNeutralForeground2 },
  select: { width: "44px" },
  sub: { display: "block", color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200 },
  error: { display: "block", color: tokens.colorPaletteRedForeground1, fontSize: tokens.fontSizeBase200 },
  pager: { display: "flex", gap: tokens.spacingHorizontalS, alignItems: "center", justifyContent: "flex-end" },
  rowActions: { display: "flex", gap: tokens.spacingHorizontalXS },
});

/** The state a person is in, in words. */
function personState(p: Person): { label: string; color: "success" | "informative" | "warning" | "danger" } {
  if (p.lastError) return { label: "Failed", color: "danger" };
  if (!p.linked) return { label: "Unmatched", color: "warning" };
  if (p.synced) return { label: "Synced", color: "success" };
  return { label: "Not synced", color: "informative" };
}

/** The search text, settled for `delay` ms so typing does not fire a request per key. */
function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

export function PeoplePage() {
  const { services, setActiveJob, setRulesBase } = useApp();
  const { api } = services;
  const styles = useStyles();
  const [searchText, setSearchText] = useState("");
  const search = useDebounced(searchText.trim(), SEARCH_DELAY_MS);
  const [filter, setFilter] = useState<PeopleFilter>("all");
  // cursors[i] opens page i; the last one is the page shown.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const [selected, setSelected] = useState<Map<string, Person>>(new Map());
  const [notice, setNotice] = useState<{ intent: "error" | "info" | "success"; text: string } | null>(null);
  const [working, setWorking] = useState(false);
  const [dialog, setDialog] = useState<PreviewKind | null>(null);

  useEffect(() => {
    setCursors([null]);
    setSelected(new Map());
  }, [search, filter]);

  const list = useLoad(() => api.people({ filter, search, cursor, limit: PAGE_SIZE }), [api, filter, search, cursor]);
  const status = useLoad<StatusView>(() => api.status(), [api]);

  const refresh = useCallback(() => {
    list.reload();
    status.reload();
  }, [list, status]);

  // A job someone started earlier (here, in the bot or another tab) is still followed.
  const lastJob = status.data?.lastJob;
  useEffect(() => {
    if (lastJob && (lastJob.status === "running" || lastJob.status === "queued")) {
      setActiveJob(lastJob);
    }
    // Only when the status is read again, not whenever the active job moves.
  }, [lastJob?.id, lastJob?.status]);

  const started = (answer: JobStarted) => {
    setActiveJob(answer.job);
    if (!answer.created) setNotice({ intent: "info", text: "The same job was already running; showing its progress." });
  };

  const run = async (action: () => Promise<void>) => {
    setWorking(true);
    setNotice(null);
    try {
      await action();
    } catch (err) {
      setNotice({ intent: "error", text: readableError(err) });
    } finally {
      setWorking(false);
    }
  };

  const syncIds = (ids: string[]) => run(async () => started(await api.syncPeople(ids)));
  const unsyncIds = (ids: string[]) => run(async () => started(await api.unsyncPeople(ids)));

  const rows = list.data?.people ?? [];
  const selectedOnPage = rows.filter((p) => selected.has(p.id)).length;
  const headerChecked = rows.length > 0 && selectedOnPage === rows.length ? true : selectedOnPage > 0 ? "mixed" : false;
  const toggle = (person: Person, on: boolean) =>
    setSelected((prev) => {
      const next = new Map(prev);
      if (on) next.set(person.id, person);
      else next.delete(person.id);
      return next;
    });
  const toggleAll = (on: boolean) =>
    setSelected((prev) => {
      const next = new Map(prev);
      for (const p of rows) {
        if (on) next.set(p.id, p);
        else next.delete(p.id);
      }
      return next;
    });
  const selectedIds = useMemo(() => [...selected.keys()], [selected]);

  const syncEnabled = status.data?.syncEnabled ?? true;
  const confirmOrg = async () => {
    if (dialog === "sync-all") {
      await run(async () => started(await api.syncAll()));
    } else if (dialog === "disable") {
      await run(async () => {
        const rules = await api.disable((await api.rules()).version);
        setRulesBase(rules);
        setNotice({ intent: "success", text: "Presence sync is disabled. Nobody's presence is changed until you enable it again." });
        status.reload();
      });
    }
    setDialog(null);
  };
  const enable = () =>
    run(async () => {
      const rules = await api.enable((await api.rules()).version);
      setRulesBase(rules);
      setNotice({ intent: "success", text: "Presence sync is enabled again." });
      status.reload();
    });

  return (
    <Page title="People">
      {!syncEnabled && (
        <MessageBar intent="warning">
          <MessageBarBody>Presence sync is disabled for the organisation: nobody's presence is being synced.</MessageBarBody>
          <MessageBarActions>
            <Button appearance="primary" onClick={enable} disabled={working}>
              Enable presence sync
            </Button>
          </MessageBarActions>
        </MessageBar>
      )}
      {notice && (
        <MessageBar intent={notice.intent} layout="multiline">
          <MessageBarBody>{notice.text}</MessageBarBody>
          <MessageBarActions>
            <Button onClick={() => setNotice(null)}>Dismiss</Button>
          </MessageBarActions>
        </MessageBar>
      )}
      <JobPanel onFinished={refresh} />
      <Section title="Everyone in the organisation" testId="people-section">
        <div className={styles.controls}>
          <Field label="Search">
            <SearchBox
              aria-label="Search people"
              placeholder="Name or email"
              value={searchText}
              onChange={(_, data) => setSearchText(data.value)}
            />
          </Field>
          <Field label="Show">
            <Select value={filter} onChange={(_, data) => setFilter(data.value as PeopleFilter)}>
              {FILTERS.map((f) => (
                <option key={f.value} value={f.value}>
                  {f.label}
                </option>
              ))}
            </Select>
          </Field>
        </div>
        <Toolbar aria-label="Actions on people" className={styles.toolbar}>
          <Button appearance="primary" disabled={selectedIds.length === 0 || working} onClick={() => syncIds(selectedIds)}>
            Sync selected
          </Button>
          <Button disabled={selectedIds.length === 0 || working} onClick={() => unsyncIds(selectedIds)}>
            Unsync selected
          </Button>
          {selectedIds.length > 0 && (
            <Button appearance="subtle" onClick={() => setSelected(new Map())}>
              Clear selection ({formatCount(selectedIds.length)})
            </Button>
          )}
          <Button disabled={working} onClick={() => setDialog("sync-all")}>
            Sync all
          </Button>
          {syncEnabled && (
            <Button disabled={working} onClick={() => setDialog("disable")}>
              Disable presence sync
            </Button>
          )}
          <Button appearance="subtle" onClick={refresh}>
            Refresh
          </Button>
        </Toolbar>
        {list.error && <ErrorState title="Could not load people" message={list.error} onRetry={list.reload} />}
        {list.loading && !list.data && <Loading label="Loading people…" />}
        {list.data && rows.length === 0 && (
          <EmptyState>
            {search || filter !== "all" ? "Nobody matches this search and filter." : "Nobody yet: grant consent and connect RingCentral on the Overview page."}
          </EmptyState>
        )}
        {rows.length > 0 && (
          <div className={styles.tableWrap}>
            <Table className={styles.table} aria-label="People" data-testid="people-table" size="small" aria-busy={list.loading}>
              <caption className={styles.caption}>
                Page {cursors.length}: {people(rows.length)}
                {selectedIds.length > 0 ? `, ${formatCount(selectedIds.length)} selected` : ""}
              </caption>
              <TableHeader>
                <TableRow>
                  <TableHeaderCell className={styles.select}>
                    <Checkbox
                      aria-label="Select everyone on this page"
                      checked={headerChecked}
                      onChange={(_, data) => toggleAll(data.checked === true)}
                    />
                  </TableHeaderCell>
                  <TableHeaderCell>Teams</TableHeaderCell>
                  <TableHeaderCell>RingCentral</TableHeaderCell>
                  <TableHeaderCell>Teams presence</TableHeaderCell>
                  <TableHeaderCell>RingCentral presence</TableHeaderCell>
                  <TableHeaderCell>State</TableHeaderCell>
                  <TableHeaderCell>Last sync</TableHeaderCell>
                  <TableHeaderCell>Actions</TableHeaderCell>
                </TableRow>
              </TableHeader>
              <TableBody>
                {rows.map((p) => (
                  <PersonRow
                    key={p.id}
                    person={p}
                    selected={selected.has(p.id)}
                    disabled={working}
                    onSelect={(on) => toggle(p, on)}
                    onSync={() => syncIds([p.id])}
                    onUnsync={() => unsyncIds([p.id])}
                  />
                ))}
              </TableBody>
            </Table>
          </div>
        )}
        <div className={styles.pager}>
          {list.loading && list.data && <Text role="status">Loading…</Text>}
          <Button disabled={cursors.length <= 1 || list.loading} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </Button>
          <Button
            disabled={!list.data?.nextCursor || list.loading}
            onClick={() => {
              const next = list.data?.nextCursor;
              if (next) setCursors((c) => [...c, next]);
            }}
          >
            Next page
          </Button>
        </div>
      </Section>
      <OrgDialog kind={dialog} busy={working} onConfirm={confirmOrg} onCancel={() => setDialog(null)} />
    </Page>
  );
}

function PersonRow(props: {
  person: Person;
  selected: boolean;
  disabled: boolean;
  onSelect(on: boolean): void;
  onSync(): void;
  onUnsync(): void;
}) {
  const { person: p } = props;
  const styles = useStyles();
  const state = personState(p);
  const name = p.displayName || p.email;
  return (
    <TableRow aria-selected={props.selected}>
      <TableCell>
        <Checkbox aria-label={`Select ${name}`} checked={props.selected} onChange={(_, data) => props.onSelect(data.checked === true)} />
      </TableCell>
      <TableCell>
        <Text weight="semibold">{name}</Text>
        <span className={styles.sub}>{p.teams.upn || p.email}</span>
      </TableCell>
      <TableCell>
        {p.ringcentral ? (
          <>
            <Text>Ext. {p.ringcentral.extensionNumber}</Text>
            <span className={styles.sub}>ID {p.ringcentral.extensionId}</span>
          </>
        ) : (
          <Text>Not found</Text>
        )}
      </TableCell>
      <TableCell>{p.teamsPresence ?? "—"}</TableCell>
      <TableCell>{p.ringcentralPresence ?? "—"}</TableCell>
      <TableCell>
        <Badge appearance="tint" color={state.color} shape="rounded">
          {state.label}
        </Badge>
        {p.reason && <span className={styles.sub}>{p.reason}</span>}
        {p.lastError && <span className={styles.error}>{p.lastError}</span>}
      </TableCell>
      <TableCell>{formatRecent(p.lastSyncAt)}</TableCell>
      <TableCell>
        <div className={styles.rowActions}>
          {p.synced ? (
            <Button size="small" aria-label={`Unsync ${name}`} disabled={props.disabled} onClick={props.onUnsync}>
              Unsync
            </Button>
          ) : (
            <Button size="small" aria-label={`Sync ${name}`} disabled={props.disabled || !p.linked} onClick={props.onSync}>
              Sync
            </Button>
          )}
        </div>
      </TableCell>
    </TableRow>
  );
}

/** Sync all / Disable presence sync: says how many people it affects before doing it. */
function OrgDialog(props: { kind: PreviewKind | null; busy: boolean; onConfirm(): void; onCancel(): void }) {
  const { api } = useApp().services;
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setPreview(null);
    setError(null);
    if (!props.kind) return;
    let live = true;
    api.preview(props.kind).then(
      (p) => live && setPreview(p),
      (err) => live && setError(readableError(err)),
    );
    return () => {
      live = false;
    };
  }, [api, props.kind]);

  const isSyncAll = props.kind === "sync-all";
  return (
    <ConfirmDialog
      open={props.kind !== null}
      title={isSyncAll ? "Sync everyone?" : "Disable presence sync?"}
      confirmLabel={isSyncAll ? "Sync all" : "Disable presence sync"}
      confirmDisabled={!preview}
      busy={props.busy}
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    >
      {error && <ErrorState title="Could not count the people affected" message={error} />}
      {!preview && !error && <Loading label="Counting the people affected…" />}
      {preview && (
        <div data-testid="preview-summary">
          {isSyncAll ? (
            <Text as="p">
              Presence sync starts for <strong>{people(preview.change)}</strong>. {formatCount(preview.unchanged)} of{" "}
              {formatCount(preview.linked)} linked people are synced already.
            </Text>
          ) : (
            <Text as="p">
              Presence sync stops for <strong>{people(preview.change)}</strong> of {formatCount(preview.linked)} linked people.
              Their presence is no longer changed on either side until you enable it again.
            </Text>
          )}
          {preview.unmatched.length > 0 && (
            <>
              <Text as="p">These people cannot be synced:</Text>
              <ul>
                {preview.unmatched.map((u) => (
                  <li key={u.reason}>
                    {people(u.count)}: {u.reason}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </ConfirmDialog>
  );
}
