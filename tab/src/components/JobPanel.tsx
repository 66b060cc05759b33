/** The job being followed: a moving progress bar while it runs, then its report. */
import {
  Button,
  Field,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
  ProgressBar,
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
import { useEffect, useRef, useState } from "react";
import { readableError } from "../api/client";
import { isFinished } from "../api/jobs";
import type { Job } from "../api/types";
import { formatCount, people } from "../format";
import { useApp } from "../store";

const useStyles = makeStyles({
  panel: {
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalS,
    padding: tokens.spacingVerticalM + " " + tokens.spacingHorizontalL,
    border: `${tokens.strokeWidthThin} solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    backgroundColor: tokens.colorNeutralBackground1,
  },
  // Fluent tables are fixed-layout; presence strings need columns sized to their content.
  table: { tableLayout: "auto", overflowWrap: "break-word" },
  row: { display: "flex", gap: tokens.spacingHorizontalS, flexWrap: "wrap", alignItems: "center" },
  caption: { textAlign: "start", fontWeight: tokens.fontWeightSemibold, padding: tokens.spacingVerticalXS + " 0" },
});

const KIND_TITLES: Record<string, string> = {
  "sync all": "Sync all",
  "sync users": "Sync people",
  "unsync users": "Unsync people",
};

function title(job: Job): string {
  return KIND_TITLES[job.kind] ?? job.kind.replace(/^./, (c) => c.toUpperCase());
}

/** Follows the app's active job; `onFinished` runs once when it ends (refresh what it changed). */
export function JobPanel(props: { onFinished?: (job: Job) => void }) {
  const { activeJob, setActiveJob, services } = useApp();
  const styles = useStyles();
  const [error, setError] = useState<string | null>(null);
  const [retrying, setRetrying] = useState(false);
  const onFinished = useRef(props.onFinished);
  onFinished.current = props.onFinished;

  const watchedId = activeJob && !isFinished(activeJob) ? activeJob.id : null;
  useEffect(() => {
    if (!watchedId) return;
    setError(null);
    return services.watchJob(watchedId, {
      onUpdate: (job) => {
        setError(null);
        setActiveJob(job);
      },
      onDone: (job) => {
        setActiveJob(job);
        onFinished.current?.(job);
      },
      onError: setError,
    });
  }, [watchedId, services, setActiveJob]);

  if (!activeJob) return null;
  const job = activeJob;

  if (!isFinished(job)) {
    const total = Math.max(job.total, 0);
    const value = total > 0 ? Math.min(job.processed / total, 1) : undefined;
    const text = total > 0 ? `${formatCount(job.processed)} of ${formatCount(total)}` : "Starting…";
    return (
      <section className={styles.panel} data-testid="job-progress" aria-label={`${title(job)} in progress`}>
        <Field label={`${title(job)} — ${job.status === "queued" ? "waiting to start" : "running"}`} validationMessage={text} validationState="none">
          <ProgressBar value={value} max={1} thickness="large" aria-valuetext={text} />
        </Field>
        {error && <Text role="status">Lost contact with the job for a moment: {error}</Text>}
        <div className={styles.row}>
          <Button
            onClick={() => {
              services.api.cancelJob(job.id).then(setActiveJob, (err) => setError(readableError(err)));
            }}
          >
            Cancel job
          </Button>
        </div>
      </section>
    );
  }

  const retry = async () => {
    setRetrying(true);
    setError(null);
    try {
      const started = await services.api.retryFailed(job.id);
      setActiveJob(started.job);
    } catch (err) {
      setError(readableError(err));
    } finally {
      setRetrying(false);
    }
  };

  const intent = job.status === "done" && job.failed === 0 ? "success" : job.status === "done" ? "warning" : "error";
  const outcome =
    job.status === "done" ? "finished" : job.status === "cancelled" ? "was cancelled" : "failed";
  return (
    <section className={styles.panel} data-testid="job-report" aria-label={`${title(job)} report`}>
      <MessageBar intent={intent} layout="multiline">
        <MessageBarBody>
          <MessageBarTitle>
            {title(job)} {outcome}
          </MessageBarTitle>
          {formatCount(job.processed)} of {formatCount(job.total)} processed: {formatCount(job.synced)} synced,{" "}
          {formatCount(job.already)} already in that state, {formatCount(job.failed)} failed, {formatCount(job.unmatched)}{" "}
          unmatched.
        </MessageBarBody>
        <MessageBarActions>
          {job.failed > 0 && (
            <Button appearance="primary" onClick={retry} disabled={retrying}>
              Retry failed
            </Button>
          )}
          <Button onClick={() => setActiveJob(null)}>Dismiss report</Button>
        </MessageBarActions>
      </MessageBar>
      {error && (
        <MessageBar intent="error">
          <MessageBarBody>{error}</MessageBarBody>
        </MessageBar>
      )}
      {job.failures.length > 0 && (
        <Table className={styles.table} size="small" aria-label="People not synced and why">
          <caption className={styles.caption}>
            {people(job.failures.length)} not synced, and why
          </caption>
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Person</TableHeaderCell>
              <TableHeaderCell>Reason</TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {job.failures.map((f, i) => (
              <TableRow key={`${f.user}-${i}`}>
                <TableCell>{f.user}</TableCell>
                <TableCell>{f.reason}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </section>
  );
}
