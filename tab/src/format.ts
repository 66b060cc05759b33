/** Formatting in the admin's own locale. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const time = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const number = new Intl.NumberFormat();

/** A Unix-seconds time as a local date and time; "—" when absent. */
export function formatTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  return dateTime.format(new Date(seconds * 1000));
}

/** A Unix-seconds time of today as a clock time, otherwise a date and time. */
export function formatRecent(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const date = new Date(seconds * 1000);
  return date.toDateString() === new Date().toDateString() ? time.format(date) : dateTime.format(date);
}

export function formatCount(n: number): string {
  return number.format(n);
}

/** "1 person", "3 people". */
export function people(n: number): string {
  return `${formatCount(n)} ${n === 1 ? "person" : "people"}`;
}

/** Connection states in words. */
export function stateLabel(state: string): string {
  const words: Record<string, string> = {
    connected: "Connected",
    missing: "Not set up",
    broken: "Not working",
    consent_pending: "Waiting for consent",
    expired: "Expired",
    revoked: "Revoked",
  };
  return words[state] ?? state.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}
