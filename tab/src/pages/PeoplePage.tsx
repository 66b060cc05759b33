import { Page } from "../components/layout";

export function PeoplePage() {
  return <Page title="People">{null}</Page>;
}
