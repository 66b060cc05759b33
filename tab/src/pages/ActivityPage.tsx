import { Page } from "../components/layout";

export function ActivityPage() {
  return <Page title="Activity">{null}</Page>;
}
