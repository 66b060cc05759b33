/** Loading, empty and error states shared by every view. */
import {
  Badge,
  Button,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import type { ReactNode } from "react";
import { stateLabel } from "../format";

const useStyles = makeStyles({
  centre: { display: "flex", justifyContent: "center", padding: tokens.spacingVerticalXXL },
  empty: {
    padding: tokens.spacingVerticalL,
    color: tokens.colorNeutralForeground2,
    textAlign: "center",
  },
});

export function Loading(props: { label: string }) {
  const styles = useStyles();
  return (
    <div className={styles.centre}>
      <Spinner label={props.label} />
    </div>
  );
}

export function ErrorState(props: { title?: string; message: string; onRetry?: () => void }) {
  return (
    <MessageBar intent="error" layout="multiline">
      <MessageBarBody>
        <MessageBarTitle>{props.title ?? "Could not load this"}</MessageBarTitle>
        {props.message}
      </MessageBarBody>
      {props.onRetry && (
        <MessageBarActions>
          <Button onClick={props.onRetry}>Try again</Button>
        </MessageBarActions>
      )}
    </MessageBar>
  );
}

export function EmptyState(props: { children: ReactNode }) {
  const styles = useStyles();
  return (
    <div className={styles.empty}>
      <Text>{props.children}</Text>
    </div>
  );
}

/** A connection state as a coloured badge with words (never colour alone). */
export function StateBadge(props: { state: string }) {
  const color = props.state === "connected" ? "success" : props.state === "missing" ? "informative" : "danger";
  return (
    <Badge appearance="tint" color={color} shape="rounded">
      {stateLabel(props.state)}
    </Badge>
  );
}
