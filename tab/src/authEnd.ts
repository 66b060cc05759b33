/** What auth-end.js does with a step's outcome, with teams-js handed in so it can be tested. */

export interface StepResult {
  ok: boolean;
  title: string;
  message: string;
}

export interface AuthEndDeps {
  win: Window;
  /** Resolves when teams-js initialised (we are in a Teams authentication pop-up). */
  initialize(): Promise<void>;
  notifySuccess(result: string): void;
  notifyFailure(reason: string): void;
}

/** Reads the outcome the server's result page carries on its body. */
export function readOutcome(body: HTMLElement): StepResult {
  return { ok: body.dataset.outcome === "ok", title: body.dataset.title ?? "", message: body.dataset.message ?? "" };
}

/** Hands the outcome to Teams, or posts it to the tab that opened this pop-up; returns which. */
export async function deliverOutcome(outcome: StepResult, deps: AuthEndDeps): Promise<"teams" | "opener" | "none"> {
  const { win } = deps;
  if (win.parent !== win || win.opener) {
    try {
      await Promise.race([
        deps.initialize(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 2000)),
      ]);
      if (outcome.ok) deps.notifySuccess(JSON.stringify(outcome));
      else deps.notifyFailure(`${outcome.title}: ${outcome.message}`);
      return "teams";
    } catch {
      // Not a Teams pop-up: a plain browser window opened by the tab.
    }
  }
  if (win.opener) {
    // The page stays open so the admin can read it; the tab refreshes its status.
    (win.opener as Window).postMessage({ type: "presence-sync-step", ...outcome }, win.location.origin);
    return "opener";
  }
  return "none";
}
