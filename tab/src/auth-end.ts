/**
 * Included by the server's consent and sign-in result pages (as a classic script). In a Teams
 * authentication pop-up it hands the outcome to teams-js; in a browser pop-up it posts it to
 * the tab that opened it.
 */
import { app, authentication } from "@microsoft/teams-js";
import { loadConfig } from "./api/client";
import { deliverOutcome, readOutcome } from "./authEnd";

async function main(): Promise<void> {
  const outcome = readOutcome(document.body);
  const config = await loadConfig(window.fetch.bind(window));
  await deliverOutcome(outcome, {
    win: window,
    initialize: () => app.initialize(config.validMessageOrigins),
    notifySuccess: (result) => authentication.notifySuccess(result),
    notifyFailure: (reason) => authentication.notifyFailure(reason),
  });
}

void main();
