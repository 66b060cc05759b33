/** RingCentral identities: more RingCentral users presence writes are spread across, and the write capacity. */
import { Button, Field, Input, MessageBar, MessageBarBody, Text } from "@fluentui/react-components";
import { useState } from "react";
import { readableError } from "../api/client";
import type { StatusView, StepName, WriteBudget } from "../api/types";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Section } from "../components/layout";
import { EmptyState, ErrorState } from "../components/states";
import { formatCount, people } from "../format";
import { useApp } from "../store";
import { ConnectionRow } from "./ConnectionRow";
import { useOverviewStyles } from "./overviewStyles";

/** Seconds as people read them: "8 s", "3 min". */
export function formatWait(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  return `${Math.round(seconds / 60)} min`;
}

/** Writes a minute in use and allowed, the backlog, the expected and recent waits, the advice. */
export function WriteCapacity(props: { budget: WriteBudget | null }) {
  const styles = useOverviewStyles();
  const budget = props.budget;
  if (!budget) return <EmptyState>No writes yet: the capacity is measured once RingCentral is connected.</EmptyState>;
  const per = budget.windowSeconds === 60 ? "a minute" : `per ${formatCount(budget.windowSeconds)} s`;
  return (
    <>
      <dl className={styles.stats}>
        <dt className={styles.dt}>In use</dt>
        <dd className={styles.dd}>
          {formatCount(budget.used)} of {budget.limit === null ? "not known yet" : formatCount(budget.limit)} writes {per}
        </dd>
        <dt className={styles.dt}>RingCentral identities</dt>
        <dd className={styles.dd}>{formatCount(budget.identities)}</dd>
        <dt className={styles.dt}>Waiting to be written</dt>
        <dd className={styles.dd}>{people(budget.backlog)}</dd>
        <dt className={styles.dt}>A new change waits</dt>
        <dd className={styles.dd}>
          {budget.expectedDelaySeconds === null || budget.backlog === 0 ? "no wait" : `about ${formatWait(budget.expectedDelaySeconds)}`}
        </dd>
        <dt className={styles.dt}>95% of writes in the last hour</dt>
        <dd className={styles.dd}>
          {budget.p95DelaySeconds === null ? "none yet" : `waited ${formatWait(budget.p95DelaySeconds)} or less`}
        </dd>
      </dl>
      {budget.advice && (
        <MessageBar intent="warning" layout="multiline">
          <MessageBarBody>{budget.advice}</MessageBarBody>
        </MessageBar>
      )}
    </>
  );
}

export function IdentitiesSection(props: {
  status: StatusView;
  busy: string | null;
  onStep(step: StepName): void;
  onChanged(): void;
}) {
  const { api } = useApp().services;
  const styles = useOverviewStyles();
  const identities = props.status.ringcentralIdentities;
  const rc = props.status.ringcentral;
  const [jwt, setJwt] = useState("");
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const [removeBusy, setRemoveBusy] = useState(false);
  const [error, setError] = useState<{ title: string; text: string } | null>(null);
  const removingName = identities.find((i) => i.extensionId === removing);

  const add = async () => {
    setAdding(true);
    setError(null);
    setAdded(null);
    try {
      const identity = await api.addRingCentralIdentity(jwt.trim());
      setJwt("");
      setAdded(identity.email ?? identity.name ?? identity.extensionId);
      props.onChanged();
    } catch (err) {
      setError({ title: "The identity was not added", text: readableError(err) });
    } finally {
      setAdding(false);
    }
  };

  const remove = async () => {
    if (!removing) return;
    setRemoveBusy(true);
    setError(null);
    try {
      await api.removeRingCentralIdentity(removing);
      setRemoving(null);
      props.onChanged();
    } catch (err) {
      setError({ title: "Could not remove the identity", text: readableError(err) });
      setRemoving(null);
    } finally {
      setRemoveBusy(false);
    }
  };

  return (
    <Section title="RingCentral identities">
      <Text className={styles.muted}>
        RingCentral allows each user 40 presence writes a minute. Each identity is one more RingCentral user (an admin role
        with the Edit Presence permission) whose budget the writes are spread across, for the top of the hour.
      </Text>
      {error && <ErrorState title={error.title} message={error.text} />}
      {added && (
        <MessageBar intent="success">
          <MessageBarBody>{added} now carries presence writes too.</MessageBarBody>
        </MessageBar>
      )}
      {identities.length === 0 ? (
        <EmptyState>Only the main RingCentral connection writes presence.</EmptyState>
      ) : (
        <ul className={styles.list} aria-label="RingCentral identities">
          {identities.map((i) => {
            const who = i.email ?? i.name ?? i.extensionId;
            return (
              <ConnectionRow
                key={i.extensionId}
                title={who}
                state={i.state}
                note={i.mode ? `(${i.mode === "jwt" ? "JWT" : "OAuth sign-in"})` : undefined}
                reason={i.reason}
                fix={i.state !== "connected" ? i.fix : null}
                removeLabel={`Remove RingCentral identity ${who}`}
                onRemove={() => setRemoving(i.extensionId)}
              />
            );
          })}
        </ul>
      )}
      <form
        className={styles.add}
        onSubmit={(event) => {
          event.preventDefault();
          if (jwt.trim()) void add();
        }}
      >
        <Field label="JWT credential of another RingCentral user" hint="Created in the RingCentral developer console; never shown again.">
          <Input type="password" value={jwt} onChange={(_, data) => setJwt(data.value)} autoComplete="off" />
        </Field>
        <Button type="submit" appearance="secondary" disabled={adding || !jwt.trim() || rc.state !== "connected"}>
          {adding ? "Testing…" : "Add identity"}
        </Button>
        {rc.oauthConfigured && (
          <Button onClick={() => props.onStep("ringcentral-identity")} disabled={props.busy !== null || rc.state !== "connected"}>
            {props.busy === "ringcentral-identity" ? "Waiting for the pop-up…" : "Sign in as another RingCentral user"}
          </Button>
        )}
      </form>
      {rc.state !== "connected" && <Text className={styles.muted}>Connect RingCentral first.</Text>}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this RingCentral identity?"
        confirmLabel="Remove"
        busy={removeBusy}
        onConfirm={remove}
        onCancel={() => setRemoving(null)}
      >
        {removingName?.email ?? removingName?.name ?? removing} will no longer write presence. Its share of the writes goes to the
        other identities, so busy hours take longer.
      </ConfirmDialog>
    </Section>
  );
}
