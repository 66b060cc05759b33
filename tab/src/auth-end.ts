/**
 * Included by the server's consent and sign-in result pages. In a Teams authentication pop-up
 * it hands the outcome to teams-js; in a browser pop-up it posts it to the tab that opened it
 * and leaves the page open so the admin can read it.
 */
import { app, authentication } from "@microsoft/teams-js";
import { loadConfig } from "./api/client";

interface Outcome {
  ok: boolean;
  title: string;
  message: string;
}

function readOutcome(body: HTMLElement): Outcome {
  return {
    ok: body.dataset.outcome === "ok",
    title: body.dataset.title ?? "",
    message: body.dataset.message ?? "",
  };
}

async function inTeams(origins: string[]): Promise<boolean> {
  if (window.parent === window && !window.opener) return false;
  try {
    await Promise.race([
      app.initialize(origins),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 2000)),
    ]);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const outcome = readOutcome(document.body);
  const config = await loadConfig(window.fetch.bind(window));
  if (await inTeams(config.validMessageOrigins)) {
    if (outcome.ok) authentication.notifySuccess(JSON.stringify(outcome));
    else authentication.notifyFailure(`${outcome.title}: ${outcome.message}`);
    return;
  }
  if (window.opener) {
    (window.opener as Window).postMessage({ type: "presence-sync-step", ...outcome }, location.origin);
  }
}

void main();
