/** One removable connection in a list of the overview: a sync account or a RingCentral identity. */
import { Button, Text } from "@fluentui/react-components";
import type { ReactNode } from "react";
import { StateBadge } from "../components/states";
import { useOverviewStyles } from "./overviewStyles";

export function ConnectionRow(props: {
  title: string;
  state: string;
  note?: ReactNode;
  reason: string | null;
  fix: string | null;
  removeLabel: string;
  onRemove(): void;
}) {
  const styles = useOverviewStyles();
  return (
    <li className={styles.item}>
      <div className={styles.line}>
        <Text weight="semibold">{props.title}</Text>
        <StateBadge state={props.state} />
        {props.note && <Text className={styles.muted}>{props.note}</Text>}
        {props.reason && <Text>{props.reason}</Text>}
        {props.fix && <Text weight="semibold">{props.fix}</Text>}
      </div>
      <Button aria-label={props.removeLabel} onClick={props.onRemove}>
        Remove
      </Button>
    </li>
  );
}
