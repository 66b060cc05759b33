/** What a call presence rule writes to RingCentral (DESIGN §4.3), for choices not saved yet. */
import type { RuleName, Rules, TeamsState } from "./api/types";

export const DND_STATUS: Record<RuleName, string> = {
  accept_all_calls: "TakeAllCalls",
  no_queue_calls: "DoNotAcceptDepartmentCalls",
  no_calls: "DoNotAcceptAnyCalls",
};

const FALLBACK_LABELS: Record<RuleName, string> = {
  accept_all_calls: "Accept all calls",
  no_queue_calls: "Do not accept queue calls",
  no_calls: "Do not accept any calls",
};

/** The RingCentral presence a rule gives a Teams state, worded as the server words it. */
export function ringCentralPresence(state: TeamsState, rule: RuleName, label?: string): string {
  const userStatus = state === "offline" ? "Offline" : "Busy";
  return `${userStatus} · ${label ?? FALLBACK_LABELS[rule]} (${DND_STATUS[rule]})`;
}

/** The editable part of the rules. */
export interface RulesDraft {
  customisation: boolean;
  preserveDuringInactivity: boolean;
  rules: Record<TeamsState, RuleName>;
}

export function draftOf(rules: Rules): RulesDraft {
  const map = {} as Record<TeamsState, RuleName>;
  for (const row of rules.rows) map[row.state] = row.rule;
  return { customisation: rules.customisation, preserveDuringInactivity: rules.preserveDuringInactivity, rules: map };
}

export function sameDraft(a: RulesDraft, b: RulesDraft): boolean {
  if (a.customisation !== b.customisation || a.preserveDuringInactivity !== b.preserveDuringInactivity) return false;
  const keys = new Set([...Object.keys(a.rules), ...Object.keys(b.rules)]) as Set<TeamsState>;
  for (const key of keys) if (a.rules[key] !== b.rules[key]) return false;
  return true;
}

/** What differs between two drafts, in words, for the conflict message. */
export function describeDifferences(mine: RulesDraft, theirs: Rules): string[] {
  const labels = new Map(theirs.choices.map((c) => [c.rule, c.label]));
  const theirsDraft = draftOf(theirs);
  const lines: string[] = [];
  const onOff = (v: boolean) => (v ? "on" : "off");
  if (mine.customisation !== theirsDraft.customisation)
    lines.push(`Customisation: theirs ${onOff(theirsDraft.customisation)}, yours ${onOff(mine.customisation)}`);
  if (mine.preserveDuringInactivity !== theirsDraft.preserveDuringInactivity)
    lines.push(
      `Preserve status during inactivity: theirs ${onOff(theirsDraft.preserveDuringInactivity)}, yours ${onOff(mine.preserveDuringInactivity)}`,
    );
  for (const row of theirs.rows) {
    const yours = mine.rules[row.state];
    if (yours && yours !== row.rule)
      lines.push(`${row.label}: theirs ${row.ruleLabel}, yours ${labels.get(yours) ?? FALLBACK_LABELS[yours]}`);
  }
  return lines;
}
