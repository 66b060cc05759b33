/**
 * Call presence rules: the customisation toggle, one rule per Teams state with the RingCentral
 * presence it results in, Save (with the version seen) and Reset to default. The draft lives in
 * the app store so it survives switching pages; a concurrent change is shown, never overwritten.
 */
import {
  Badge,
  Button,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
  Select,
  Switch,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { useEffect, useState } from "react";
import { ApiError, readableError } from "../api/client";
import type { RuleName, Rules } from "../api/types";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Page, Section } from "../components/layout";
import { ErrorState, Loading } from "../components/states";
import { describeDifferences, draftOf, ringCentralPresence, type RulesDraft } from "../rules";
import { useApp } from "../store";

const useStyles = makeStyles({
  switches: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
  hint: { color: tokens.colorNeutralForeground2, marginInlineStart: tokens.spacingHorizontalXXL },
  note: { display: "block", color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200, marginTop: tokens.spacingVerticalXXS },
  caption: { textAlign: "start", padding: `${tokens.spacingVerticalXS} 0`, color: tokens.colorNeutralForeground2 },
  actions: { display: "flex", gap: tokens.spacingHorizontalS, alignItems: "center", flexWrap: "wrap" },
  changed: { fontWeight: tokens.fontWeightSemibold },
  // Fluent tables are fixed-layout; presence strings need columns sized to their content.
  table: { tableLayout: "auto", overflowWrap: "break-word" },
  tableWrap: { overflowX: "auto" },
});

export function RulesPage() {
  const { services, rules, rulesDirty, setRulesBase, setRulesDraft } = useApp();
  const { api } = services;
  const styles = useStyles();
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [conflict, setConflict] = useState<Rules | null>(null);
  const [confirmReset, setConfirmReset] = useState(false);

  const load = () => {
    setLoadError(null);
    api.rules().then(
      // A draft survives a reload; the server's version is what the draft will be saved against.
      (fresh) => {
        if (rules.draft && rules.base && fresh.version !== rules.base.version) setConflict(fresh);
        else setRulesBase(fresh);
      },
      (err) => {
        setLoadError(readableError(err));
      },
    );
  };
  // Read once per visit; an unsaved draft keeps the version it was started from.
  useEffect(load, [api]);

  const base = rules.base;
  if (!base) {
    if (loadError) return <Page title="Call presence rules"><ErrorState title="Could not load the rules" message={loadError} onRetry={load} /></Page>;
    return (
      <Page title="Call presence rules">
        <Loading label="Loading call presence rules…" />
      </Page>
    );
  }

  const draft: RulesDraft = rules.draft ?? draftOf(base);
  const edit = (change: Partial<RulesDraft>) => {
    setSaved(null);
    setRulesDraft({ ...draft, ...change, rules: { ...draft.rules, ...change.rules } });
  };
  const labels = new Map(base.choices.map((c) => [c.rule, c.label]));

  const onError = (err: unknown) => {
    if (err instanceof ApiError && err.status === 409 && err.current) setConflict(err.current as Rules);
    else setError(readableError(err));
  };

  const save = async (version = base.version) => {
    setSaving(true);
    setError(null);
    setSaved(null);
    try {
      const result = await api.saveRules({
        version,
        customisation: draft.customisation,
        preserveDuringInactivity: draft.preserveDuringInactivity,
        rules: draft.rules,
      });
      setRulesBase(result, true);
      setConflict(null);
      setSaved("Call presence rules saved. They apply from the next presence change.");
    } catch (err) {
      onError(err);
    } finally {
      setSaving(false);
    }
  };

  const reset = async () => {
    setSaving(true);
    setError(null);
    setSaved(null);
    try {
      setRulesBase(await api.resetRules(base.version), true);
      setConflict(null);
      setSaved("Call presence rules reset to the defaults.");
    } catch (err) {
      onError(err);
    } finally {
      setSaving(false);
      setConfirmReset(false);
    }
  };

  const loadTheirs = () => {
    if (!conflict) return;
    setRulesBase(conflict, true);
    setConflict(null);
    setSaved(null);
  };

  return (
    <Page
      title="Call presence rules"
      actions={
        rulesDirty && (
          <Badge appearance="filled" color="warning" data-testid="unsaved-badge">
            Unsaved changes
          </Badge>
        )
      }
    >
      {conflict && (
        <MessageBar intent="warning" layout="multiline" data-testid="rules-conflict">
          <MessageBarBody>
            <MessageBarTitle>Someone else changed these rules</MessageBarTitle>
            They were saved by another admin or the bot since you opened them, so yours were not saved. Review their version:
            <ul>
              {(rulesDirty ? describeDifferences(draft, conflict) : []).map((line) => (
                <li key={line}>{line}</li>
              ))}
              {conflict.rows.map((row) =>
                rulesDirty ? null : (
                  <li key={row.state}>
                    {row.label}: {row.ruleLabel}
                  </li>
                ),
              )}
            </ul>
          </MessageBarBody>
          <MessageBarActions>
            <Button appearance="primary" onClick={loadTheirs}>
              Load their version
            </Button>
            {rulesDirty && (
              <Button onClick={() => void save(conflict.version)} disabled={saving}>
                Save mine over theirs
              </Button>
            )}
          </MessageBarActions>
        </MessageBar>
      )}
      {error && <ErrorState title="Could not save" message={error} />}
      {saved && (
        <MessageBar intent="success">
          <MessageBarBody>{saved}</MessageBarBody>
        </MessageBar>
      )}
      {!base.syncEnabled && (
        <MessageBar intent="info">
          <MessageBarBody>Presence sync is disabled for the organisation, so these rules are not applied now.</MessageBarBody>
        </MessageBar>
      )}
      <Section title="Customisation">
        <div className={styles.switches}>
          <Switch
            label="Customize RingCentral call presence with Microsoft Teams presence"
            checked={draft.customisation}
            onChange={(_, data) => edit({ customisation: data.checked })}
          />
          <Text className={styles.hint}>
            {draft.customisation
              ? "The rules below decide how RingCentral routes calls while someone is busy in Teams."
              : "Off: Teams Busy sets RingCentral Busy, Do not disturb sets RingCentral Do not disturb; the rules below are kept but not applied."}
          </Text>
          <Switch
            label="Preserve RingCentral status during Teams inactivity"
            checked={draft.preserveDuringInactivity}
            onChange={(_, data) => edit({ preserveDuringInactivity: data.checked })}
          />
          <Text className={styles.hint}>
            When on, Teams going idle or away, or the Teams client closing, leaves RingCentral as it is.
          </Text>
        </div>
      </Section>
      <Section title="Rules">
        <div className={styles.tableWrap}>
          <Table className={styles.table} aria-label="Call presence rules" data-testid="rules-table">
            <caption className={styles.caption}>One rule per Teams state, and the RingCentral presence it results in</caption>
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Teams state</TableHeaderCell>
                <TableHeaderCell>Rule</TableHeaderCell>
                <TableHeaderCell>RingCentral presence</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {base.rows.map((row) => {
                const rule = draft.rules[row.state] ?? row.rule;
                const changed = rule !== row.rule;
                const presence = changed ? ringCentralPresence(row.state, rule, labels.get(rule)) : row.ringcentral;
                return (
                  <TableRow key={row.state} data-state={row.state}>
                    <TableCell>
                      <Text weight="semibold">{row.label}</Text>
                      {row.note && <span className={styles.note}>{row.note}</span>}
                    </TableCell>
                    <TableCell>
                      <Select
                        aria-label={`Rule for ${row.label}`}
                        value={rule}
                        onChange={(_, data) => edit({ rules: { ...draft.rules, [row.state]: data.value as RuleName } })}
                      >
                        {base.choices.map((c) => (
                          <option key={c.rule} value={c.rule}>
                            {c.label}
                          </option>
                        ))}
                      </Select>
                    </TableCell>
                    <TableCell data-testid={`ringcentral-${row.state}`} className={changed ? styles.changed : undefined}>
                      {presence}
                      {changed && <span className={styles.note}>Not saved yet</span>}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </div>
        <div className={styles.actions}>
          <Button appearance="primary" disabled={!rulesDirty || saving || conflict !== null} onClick={() => void save()}>
            {saving ? "Saving…" : "Save"}
          </Button>
          <Button disabled={!rulesDirty || saving} onClick={() => setRulesDraft(null)}>
            Discard changes
          </Button>
          <Button disabled={saving} onClick={() => setConfirmReset(true)}>
            Reset to default
          </Button>
        </div>
      </Section>
      <ConfirmDialog
        open={confirmReset}
        title="Reset the call presence rules?"
        confirmLabel="Reset to default"
        busy={saving}
        onConfirm={reset}
        onCancel={() => setConfirmReset(false)}
      >
        <Text as="p">
          Every Teams state goes back to its default rule:{" "}
          {base.rows.map((r) => `${r.label} → ${labels.get(base.defaults[r.state] ?? r.rule) ?? ""}`).join("; ")}.
          {rulesDirty ? " Your unsaved changes are discarded." : ""}
        </Text>
      </ConfirmDialog>
    </Page>
  );
}
