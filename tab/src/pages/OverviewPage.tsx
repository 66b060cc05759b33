/** Overview: connections with their next step, warnings, coverage, write budget, counts, last job. */
import {
  Button,
  Field,
  Input,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
  Text,
} from "@fluentui/react-components";
import { useState } from "react";
import { readableError } from "../api/client";
import type { StatusView, StepName, Warning } from "../api/types";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { JobPanel } from "../components/JobPanel";
import { Page, Section } from "../components/layout";
import { EmptyState, ErrorState, Loading, StateBadge } from "../components/states";
import { useLoad } from "../components/useLoad";
import { formatCount, formatTime, people } from "../format";
import { useApp } from "../store";
import { ConnectionRow } from "./ConnectionRow";
import { IdentitiesSection, WriteCapacity } from "./IdentitiesSection";
import { useOverviewStyles } from "./overviewStyles";

const WARNING_ACTIONS: Record<StepName, string> = {
  consent: "Re-authorise Microsoft",
  "sync-account": "Re-authorise the sync account",
  ringcentral: "Reconnect RingCentral",
  "ringcentral-identity": "Add a RingCentral identity",
};

export function OverviewPage() {
  const { services } = useApp();
  const status = useLoad(() => services.api.status(), [services]);
  const [notice, setNotice] = useState<{ intent: "success" | "error" | "info"; title: string; text?: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const runStep = async (step: StepName, loginHint?: string) => {
    setBusy(step);
    setNotice(null);
    try {
      const outcome = await services.host.openStep(step, () => services.api.stepUrl(step, loginHint));
      if (outcome.ok === true) setNotice({ intent: "success", title: outcome.title ?? "Done", text: outcome.message });
      else if (outcome.ok === false)
        setNotice({ intent: "error", title: outcome.title ?? "That did not work", text: outcome.message });
    } catch (err) {
      setNotice({ intent: "error", title: "Could not start", text: readableError(err) });
    } finally {
      setBusy(null);
      status.reload();
    }
  };

  const connectJwt = async () => {
    setBusy("ringcentral-jwt");
    setNotice(null);
    try {
      status.set(await services.api.connectRingCentralJwt());
      setNotice({ intent: "success", title: "RingCentral connected" });
    } catch (err) {
      setNotice({ intent: "error", title: "Could not connect RingCentral", text: readableError(err) });
    } finally {
      setBusy(null);
    }
  };

  const onWarningAction = (warning: Warning) => {
    if (!warning.action) return;
    const rc = status.data?.ringcentral;
    if (warning.action === "ringcentral" && rc && rc.jwtConfigured && (rc.mode === "jwt" || !rc.oauthConfigured)) void connectJwt();
    else void runStep(warning.action);
  };

  return (
    <Page
      title="Overview"
      actions={
        <Button onClick={status.reload} disabled={status.loading}>
          Refresh
        </Button>
      }
    >
      {notice && (
        <MessageBar intent={notice.intent} layout="multiline">
          <MessageBarBody>
            <MessageBarTitle>{notice.title}</MessageBarTitle>
            {notice.text}
          </MessageBarBody>
          <MessageBarActions>
            <Button onClick={() => setNotice(null)}>Dismiss</Button>
          </MessageBarActions>
        </MessageBar>
      )}
      {status.error && <ErrorState title="Could not load the status" message={status.error} onRetry={status.reload} />}
      {!status.data && status.loading && <Loading label="Loading status…" />}
      {status.data && (
        <OverviewBody
          status={status.data}
          busy={busy}
          onStep={runStep}
          onConnectJwt={connectJwt}
          onWarningAction={onWarningAction}
          onChanged={status.reload}
        />
      )}
    </Page>
  );
}

function OverviewBody(props: {
  status: StatusView;
  busy: string | null;
  onStep(step: StepName, loginHint?: string): void;
  onConnectJwt(): void;
  onWarningAction(warning: Warning): void;
  onChanged(): void;
}) {
  const { status, busy } = props;
  const styles = useOverviewStyles();
  const { activeJob } = useApp();
  return (
    <>
      {status.warnings.length > 0 && (
        <div className={styles.warnings} aria-label="Warnings" role="group">
          {status.warnings.map((w, i) => (
            <MessageBar key={i} intent="warning" layout="multiline">
              <MessageBarBody>{w.text}</MessageBarBody>
              {w.action && (
                <MessageBarActions>
                  <Button onClick={() => props.onWarningAction(w)} disabled={busy !== null}>
                    {WARNING_ACTIONS[w.action]}
                  </Button>
                </MessageBarActions>
              )}
            </MessageBar>
          ))}
        </div>
      )}
      {!status.syncEnabled && (
        <MessageBar intent="info">
          <MessageBarBody>Presence sync is disabled for the organisation. Enable it on the People page.</MessageBarBody>
        </MessageBar>
      )}
      <div className={styles.grid}>
        <MicrosoftSection status={status} busy={busy} onStep={props.onStep} />
        <RingCentralSection status={status} busy={busy} onStep={props.onStep} onConnectJwt={props.onConnectJwt} />
      </div>
      <SyncAccountsSection status={status} busy={busy} onStep={props.onStep} onChanged={props.onChanged} />
      <div className={styles.grid}>
        <Section title="People">
          <dl className={styles.stats}>
            <dt className={styles.dt}>Linked</dt>
            <dd className={styles.dd}>{formatCount(status.counts.linked)}</dd>
            <dt className={styles.dt}>Synced</dt>
            <dd className={styles.dd}>{formatCount(status.counts.synced)}</dd>
            <dt className={styles.dt}>Unmatched</dt>
            <dd className={styles.dd}>{formatCount(status.counts.unmatched)}</dd>
            <dt className={styles.dt}>Waiting to sync</dt>
            <dd className={styles.dd}>{formatCount(status.counts.pendingUsers)}</dd>
          </dl>
        </Section>
        <Section title="Coverage">
          {status.coverage ? (
            <dl className={styles.stats}>
              <dt className={styles.dt}>Watched by notification</dt>
              <dd className={styles.dd}>{people(status.coverage.notified)}</dd>
              <dt className={styles.dt}>Watched by polling</dt>
              <dd className={styles.dd}>{people(status.coverage.polled)}</dd>
              <dt className={styles.dt}>Polling interval</dt>
              <dd className={styles.dd}>every {formatCount(status.coverage.pollIntervalSeconds)} s</dd>
            </dl>
          ) : (
            <EmptyState>Nobody is watched yet: grant consent and authorise a sync account.</EmptyState>
          )}
        </Section>
        <Section title="RingCentral write capacity">
          <WriteCapacity budget={status.writeBudget} />
        </Section>
      </div>
      <IdentitiesSection status={status} busy={busy} onStep={props.onStep} onChanged={props.onChanged} />
      <Section title="Last job">
        {activeJob ? (
          <JobPanel onFinished={props.onChanged} />
        ) : status.lastJob ? (
          <Text>
            {status.lastJob.kind} by {status.lastJob.requestedBy}, {status.lastJob.status}: {formatCount(status.lastJob.processed)} of{" "}
            {formatCount(status.lastJob.total)} processed, {formatCount(status.lastJob.failed)} failed (
            {formatTime(status.lastJob.finishedAt ?? status.lastJob.createdAt)}).
          </Text>
        ) : (
          <EmptyState>No job has run yet.</EmptyState>
        )}
      </Section>
    </>
  );
}

function Since(props: { since: number | null; reason: string | null; fix: string | null }) {
  const styles = useOverviewStyles();
  return (
    <>
      {props.since !== null && <Text className={styles.muted}>Since {formatTime(props.since)}</Text>}
      {props.reason && <Text>{props.reason}</Text>}
      {props.fix && <Text weight="semibold">{props.fix}</Text>}
    </>
  );
}

function MicrosoftSection(props: { status: StatusView; busy: string | null; onStep(step: StepName): void }) {
  const ms = props.status.microsoft;
  const styles = useOverviewStyles();
  const connected = ms.state === "connected";
  const label = ms.state === "missing" ? "Sign in and grant consent" : connected ? "Grant consent again" : "Sign in again and grant consent";
  return (
    <Section title="Microsoft consent">
      <div className={styles.line}>
        <StateBadge state={ms.state} />
        {ms.consentedBy && <Text className={styles.muted}>Granted by {ms.consentedBy}</Text>}
      </div>
      <Since since={ms.since} reason={ms.reason} fix={ms.fix} />
      {ms.permissions.length > 0 && <Text className={styles.muted}>Permissions: {ms.permissions.join(", ")}</Text>}
      <div>
        <Button appearance={connected ? "secondary" : "primary"} onClick={() => props.onStep("consent")} disabled={props.busy !== null}>
          {props.busy === "consent" ? "Waiting for the pop-up…" : label}
        </Button>
      </div>
    </Section>
  );
}

function RingCentralSection(props: { status: StatusView; busy: string | null; onStep(step: StepName): void; onConnectJwt(): void }) {
  const rc = props.status.ringcentral;
  const styles = useOverviewStyles();
  const connected = rc.state === "connected";
  return (
    <Section title="RingCentral">
      <div className={styles.line}>
        <StateBadge state={rc.state} />
        {rc.account && <Text className={styles.muted}>Account {rc.account}</Text>}
        {rc.mode && <Text className={styles.muted}>({rc.mode === "jwt" ? "JWT" : "OAuth sign-in"})</Text>}
      </div>
      <Since since={rc.since} reason={rc.reason} fix={rc.fix} />
      {!rc.jwtConfigured && !rc.oauthConfigured && (
        <Text>Neither a RingCentral JWT nor an OAuth app is configured on the server: set one in its settings.</Text>
      )}
      <div className={styles.line}>
        {rc.jwtConfigured && (
          <Button appearance={connected ? "secondary" : "primary"} onClick={props.onConnectJwt} disabled={props.busy !== null}>
            {props.busy === "ringcentral-jwt" ? "Connecting…" : "Connect with JWT"}
          </Button>
        )}
        {rc.oauthConfigured && (
          <Button
            appearance={connected || rc.jwtConfigured ? "secondary" : "primary"}
            onClick={() => props.onStep("ringcentral")}
            disabled={props.busy !== null}
          >
            {props.busy === "ringcentral" ? "Waiting for the pop-up…" : "Sign in with RingCentral"}
          </Button>
        )}
      </div>
    </Section>
  );
}

function SyncAccountsSection(props: {
  status: StatusView;
  busy: string | null;
  onStep(step: StepName, loginHint?: string): void;
  onChanged(): void;
}) {
  const { api } = useApp().services;
  const styles = useOverviewStyles();
  const accounts = props.status.syncAccounts;
  const [email, setEmail] = useState("");
  const [removing, setRemoving] = useState<string | null>(null);
  const [removeBusy, setRemoveBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const remove = async () => {
    if (!removing) return;
    setRemoveBusy(true);
    setError(null);
    try {
      await api.removeSyncAccount(removing);
      setRemoving(null);
      props.onChanged();
    } catch (err) {
      setError(readableError(err));
      setRemoving(null);
    } finally {
      setRemoveBusy(false);
    }
  };

  return (
    <Section title="Sync accounts">
      <Text className={styles.muted}>
        Each sync account is a Microsoft sign-in that receives presence notifications for up to 650 people.
      </Text>
      {error && <ErrorState title="Could not remove the sync account" message={error} />}
      {accounts.length === 0 ? (
        <EmptyState>No sync account yet: authorise one so Teams presence changes arrive as notifications.</EmptyState>
      ) : (
        <ul className={styles.list} aria-label="Sync accounts">
          {accounts.map((a) => (
            <ConnectionRow
              key={a.upn}
              title={a.upn}
              state={a.state}
              note={`covers ${people(a.covers)}`}
              reason={a.reason}
              fix={a.fix}
              removeLabel={`Remove sync account ${a.upn}`}
              onRemove={() => setRemoving(a.upn)}
            />
          ))}
        </ul>
      )}
      <form
        className={styles.add}
        onSubmit={(event) => {
          event.preventDefault();
          props.onStep("sync-account", email.trim() || undefined);
        }}
      >
        <Field label="Sync account email (optional)" hint="Pre-fills the Microsoft sign-in.">
          <Input type="email" value={email} onChange={(_, data) => setEmail(data.value)} placeholder="sync@contoso.com" />
        </Field>
        <Button type="submit" appearance={accounts.length === 0 ? "primary" : "secondary"} disabled={props.busy !== null}>
          {props.busy === "sync-account"
            ? "Waiting for the pop-up…"
            : accounts.length === 0
              ? "Authorise a sync account"
              : "Authorise another sync account"}
        </Button>
      </form>
      <ConfirmDialog
        open={removing !== null}
        title="Remove this sync account?"
        confirmLabel="Remove"
        busy={removeBusy}
        onConfirm={remove}
        onCancel={() => setRemoving(null)}
      >
        {removing} will no longer receive presence notifications. The people it covers are polled instead until another sync
        account takes them.
      </ConfirmDialog>
    </Section>
  );
}
