import { Page } from "../components/layout";

export function RulesPage() {
  return <Page title="Rules">{null}</Page>;
}
