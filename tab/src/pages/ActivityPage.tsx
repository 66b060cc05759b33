/** Activity: recent presence writes with their cause, recent jobs, recent admin actions. */
import {
  Badge,
  Button,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import type { ReactNode } from "react";
import { Page, Section } from "../components/layout";
import { EmptyState, ErrorState, Loading } from "../components/states";
import { useLoad } from "../components/useLoad";
import { formatCount, formatRecent } from "../format";
import { useApp } from "../store";

const useStyles = makeStyles({
  // Fluent tables are fixed-layout; presence strings need columns sized to their content.
  table: { tableLayout: "auto", overflowWrap: "break-word" },
  wrap: { overflowX: "auto" },
  caption: { textAlign: "start", padding: `${tokens.spacingVerticalXS} 0`, color: tokens.colorNeutralForeground2 },
  sub: { display: "block", color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200 },
});

function SimpleTable(props: { label: string; caption: string; headers: string[]; children: ReactNode; testId: string }) {
  const styles = useStyles();
  return (
    <div className={styles.wrap}>
      <Table className={styles.table} size="small" aria-label={props.label} data-testid={props.testId}>
        <caption className={styles.caption}>{props.caption}</caption>
        <TableHeader>
          <TableRow>
            {props.headers.map((h) => (
              <TableHeaderCell key={h}>{h}</TableHeaderCell>
            ))}
          </TableRow>
        </TableHeader>
        <TableBody>{props.children}</TableBody>
      </Table>
    </div>
  );
}

export function ActivityPage() {
  const { api } = useApp().services;
  const styles = useStyles();
  const activity = useLoad(() => api.activity(50), [api]);
  const data = activity.data;

  return (
    <Page
      title="Activity"
      actions={
        <Button onClick={activity.reload} disabled={activity.loading}>
          Refresh
        </Button>
      }
    >
      {activity.error && <ErrorState title="Could not load the activity" message={activity.error} onRetry={activity.reload} />}
      {!data && activity.loading && <Loading label="Loading activity…" />}
      {data && (
        <>
          <Section title="Presence writes">
            {data.writes.length === 0 ? (
              <EmptyState>No presence has been written yet.</EmptyState>
            ) : (
              <SimpleTable
                label="Presence writes"
                caption="The latest presence changes Presence Sync made, and why"
                headers={["Time", "Person", "Side", "What was written", "Cause", "Result"]}
                testId="activity-writes"
              >
                {data.writes.map((w, i) => (
                  <TableRow key={`${w.at}-${w.user}-${i}`}>
                    <TableCell>{formatRecent(w.at)}</TableCell>
                    <TableCell>{w.user}</TableCell>
                    <TableCell>{w.side === "ringcentral" ? "RingCentral" : "Teams"}</TableCell>
                    <TableCell>{w.write}</TableCell>
                    <TableCell>{w.cause}</TableCell>
                    <TableCell>
                      <Badge appearance="tint" shape="rounded" color={w.result === "applied" ? "success" : "warning"}>
                        {w.result === "applied" ? "Applied" : w.result.replace(/_/g, " ")}
                      </Badge>
                      {w.message && <span className={styles.sub}>{w.message}</span>}
                    </TableCell>
                  </TableRow>
                ))}
              </SimpleTable>
            )}
          </Section>
          <Section title="Jobs">
            {data.jobs.length === 0 ? (
              <EmptyState>No job has run yet.</EmptyState>
            ) : (
              <SimpleTable
                label="Jobs"
                caption="Recent bulk jobs"
                headers={["Started", "Job", "Requested by", "Status", "Processed", "Synced", "Failed", "Unmatched"]}
                testId="activity-jobs"
              >
                {data.jobs.map((j) => (
                  <TableRow key={j.id}>
                    <TableCell>{formatRecent(j.createdAt)}</TableCell>
                    <TableCell>{j.kind}</TableCell>
                    <TableCell>{j.requestedBy}</TableCell>
                    <TableCell>{j.status}</TableCell>
                    <TableCell>
                      {formatCount(j.processed)} of {formatCount(j.total)}
                    </TableCell>
                    <TableCell>{formatCount(j.synced)}</TableCell>
                    <TableCell>{formatCount(j.failed)}</TableCell>
                    <TableCell>{formatCount(j.unmatched)}</TableCell>
                  </TableRow>
                ))}
              </SimpleTable>
            )}
          </Section>
          <Section title="Admin actions">
            {data.admin.length === 0 ? (
              <EmptyState>No admin has changed anything yet.</EmptyState>
            ) : (
              <SimpleTable label="Admin actions" caption="Recent changes by admins" headers={["Time", "Admin", "Action"]} testId="activity-admin">
                {data.admin.map((a, i) => (
                  <TableRow key={`${a.at}-${i}`}>
                    <TableCell>{formatRecent(a.at)}</TableCell>
                    <TableCell>{a.actor}</TableCell>
                    <TableCell>{a.summary}</TableCell>
                  </TableRow>
                ))}
              </SimpleTable>
            )}
          </Section>
        </>
      )}
    </Page>
  );
}
