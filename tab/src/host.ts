/**
 * The host the tab runs in: Microsoft Teams (teams-js initialises, SSO bearer) or a plain
 * browser (cookie session). teams-js is loaded only when the page is framed or a pop-up,
 * so the browser path does not pay for it.
 */
import type { StepName, TabConfig } from "./api/types";

export type ThemeName = "default" | "dark" | "contrast";

/** What a pop-up step ended with, when the step page said so. */
export interface StepOutcome {
  ok: boolean | null;
  title?: string;
  message?: string;
}

export interface Host {
  inTeams: boolean;
  theme: ThemeName;
  /** Calls back when the Teams theme changes (never outside Teams). */
  onThemeChange(handler: (theme: ThemeName) => void): void;
  /** Opens a step's one-time URL in a pop-up and resolves when the pop-up ends. */
  openStep(step: StepName, getUrl: () => Promise<string>): Promise<StepOutcome>;
  /** Leaves the tab for a same-origin page (the Microsoft sign-in). */
  goTo(url: string): void;
  /** Gets a Teams SSO token (inside Teams only). */
  getToken?: (fresh: boolean) => Promise<string>;
}

/** Maps Teams' theme names ("default", "dark", "contrast") to ours; unknown → default. */
export function themeFromTeams(theme: string | undefined): ThemeName {
  if (theme === "dark") return "dark";
  if (theme === "contrast") return "contrast";
  return "default";
}

function isFramedOrPopup(win: Window): boolean {
  try {
    return win.parent !== win || Boolean(win.opener);
  } catch {
    // A cross-origin parent may refuse even the comparison: we are framed.
    return true;
  }
}

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), ms));
}

/** Initialises teams-js when framed; otherwise (or when it fails within 2 s) a browser host. */
export async function detectHost(config: TabConfig, win: Window = window): Promise<Host> {
  if (isFramedOrPopup(win)) {
    try {
      const teams = await import("@microsoft/teams-js");
      await Promise.race([teams.app.initialize(config.validMessageOrigins), timeout(2000)]);
      const context = await teams.app.getContext();
      teams.app.notifySuccess().catch(() => undefined);
      return teamsHost(teams, themeFromTeams(context.app.theme));
    } catch {
      // Not in Teams (or a host we do not trust): use the browser's session.
    }
  }
  return browserHost(win);
}

type TeamsJs = typeof import("@microsoft/teams-js");

function teamsHost(teams: TeamsJs, theme: ThemeName): Host {
  return {
    inTeams: true,
    theme,
    onThemeChange(handler) {
      teams.app.registerOnThemeChangeHandler((name) => handler(themeFromTeams(name)));
    },
    async openStep(_step, getUrl) {
      const url = await getUrl();
      try {
        const result = await teams.authentication.authenticate({ url, width: 600, height: 700 });
        return parseOutcome(result);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        if (/CancelledByUser/i.test(reason)) return { ok: null };
        return { ok: false, message: reason };
      }
    },
    getToken: () => teams.authentication.getAuthToken(),
    goTo: (url) => window.location.assign(url),
  };
}

function parseOutcome(result: string): StepOutcome {
  try {
    const parsed = JSON.parse(result) as { ok?: unknown; title?: unknown; message?: unknown };
    return {
      ok: parsed.ok === undefined ? true : Boolean(parsed.ok),
      title: typeof parsed.title === "string" ? parsed.title : undefined,
      message: typeof parsed.message === "string" ? parsed.message : undefined,
    };
  } catch {
    return { ok: true };
  }
}

/** A browser host: the step opens in a named pop-up window; its page posts back the outcome. */
export function browserHost(win: Window = window): Host {
  const dark = win.matchMedia?.("(prefers-color-scheme: dark)");
  return {
    inTeams: false,
    theme: dark?.matches ? "dark" : "default",
    onThemeChange(handler) {
      dark?.addEventListener?.("change", (event) => handler(event.matches ? "dark" : "default"));
    },
    goTo: (url) => win.location.assign(url),
    async openStep(_step, getUrl) {
      // Open the window while the click still counts as a user gesture, then point it at the URL.
      const popup = win.open("about:blank", "presence-sync-step", "width=600,height=700");
      let url: string;
      try {
        url = await getUrl();
      } catch (err) {
        popup?.close();
        throw err;
      }
      if (!popup) {
        win.location.assign(url);
        return { ok: null };
      }
      popup.location.href = url;
      return new Promise<StepOutcome>((resolve) => {
        let outcome: StepOutcome = { ok: null };
        const onMessage = (event: MessageEvent) => {
          const data = event.data as { type?: unknown; ok?: unknown; title?: unknown; message?: unknown } | null;
          if (event.origin !== win.location.origin || data?.type !== "presence-sync-step") return;
          outcome = {
            ok: Boolean(data.ok),
            title: typeof data.title === "string" ? data.title : undefined,
            message: typeof data.message === "string" ? data.message : undefined,
          };
          // The step page stays open so the admin can read it; the tab can refresh already.
          done();
        };
        const timer = setInterval(() => {
          if (popup.closed) done();
        }, 500);
        const done = () => {
          clearInterval(timer);
          win.removeEventListener("message", onMessage);
          resolve(outcome);
        };
        win.addEventListener("message", onMessage);
      });
    },
  };
}
