/**
 * What every spec shares: the addresses the pytest wrapper passes, a browser context that
 * never leaves this machine, the sandbox's control API, signing in, screenshots and axe-core.
 */
import AxeBuilder from "@axe-core/playwright";
import { expect, test as base, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";
import type { AxeResults } from "axe-core";
import { readFileSync } from "node:fs";
import * as path from "node:path";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these specs through tests/tab_e2e/test_tab_in_browser.py`);
  return value;
}

export const env = {
  get product() {
    return required("PRODUCT_URL");
  },
  get sandbox() {
    return required("SANDBOX_URL");
  },
  get admin() {
    return required("ADMIN_EMAIL");
  },
  get nonAdmin() {
    return required("NON_ADMIN_EMAIL");
  },
  get unsyncEmail() {
    return required("UNSYNC_EMAIL");
  },
  get meetingEmail() {
    return required("MEETING_EMAIL");
  },
};

export const ARTIFACTS = path.resolve(__dirname, "..", "artifacts");

/** Only the product and the sandbox, both on loopback, may be reached. */
export async function keepLocal(context: BrowserContext, blocked: string[] = []): Promise<void> {
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || ["127.0.0.1", "localhost"].includes(url.hostname)) {
      return route.continue();
    }
    blocked.push(url.origin);
    return route.abort();
  });
}

export class Sandbox {
  constructor(private readonly request: APIRequestContext) {}

  async call<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    const response = await this.request.fetch(`${env.sandbox}${route}`, {
      method,
      data: body === undefined ? undefined : body,
      ignoreHTTPSErrors: true,
    });
    const text = await response.text();
    if (!response.ok()) throw new Error(`${method} ${route}: ${response.status()} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  /** Someone in `/_sandbox/state`, by Teams address: both presences. */
  async person(email: string): Promise<SandboxPerson> {
    const state = await this.call<{ users: SandboxPerson[] }>("GET", "/_sandbox/state");
    const found = state.users.find((u) => u.teams?.userPrincipalName.toLowerCase() === email.toLowerCase());
    if (!found) throw new Error(`${email} is not in the sandbox's state`);
    return found;
  }

  /** Who the sandbox's Entra sign-in page signs in without asking. */
  signInAs(email: string | null) {
    return this.call("POST", "/_sandbox/consent", { sign_in_as: email });
  }
}

export interface SandboxPerson {
  email: string;
  display_name: string;
  teams: { userPrincipalName: string; presence: Record<string, unknown> } | null;
  ringcentral: { email: string; presence: { userStatus: string; dndStatus: string; presenceStatus: string } } | null;
}

type Fixtures = { sandbox: Sandbox; blocked: string[] };

export const test = base.extend<Fixtures>({
  blocked: async ({ context }, use) => {
    const blocked: string[] = [];
    await keepLocal(context, blocked);
    await use(blocked);
  },
  sandbox: async ({ playwright }, use) => {
    const request = await playwright.request.newContext({ ignoreHTTPSErrors: true });
    await use(new Sandbox(request));
    await request.dispose();
  },
  page: async ({ page, blocked }, use, testInfo) => {
    void blocked;
    // What the tab said in the console, shown when a spec fails.
    const said: string[] = [];
    const listen = (p: Page) => {
      p.on("pageerror", (err) => said.push(`${p.url()} page error: ${err.stack ?? err.message}`));
      p.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") said.push(`${p.url()} console ${m.type()}: ${m.text()}`);
      });
    };
    listen(page);
    page.context().on("page", listen);
    await use(page);
    if (testInfo.status !== testInfo.expectedStatus && said.length) {
      console.log(`--- browser console of "${testInfo.title}" ---\n${said.join("\n")}`);
    }
  },
});

export { expect };

/**
 * Fluent UI's focus manager (tabster) puts `<i tabindex="0" aria-hidden="true" data-tabster-dummy>`
 * around focus groups on purpose: they pass focus on at once and must stay hidden from screen
 * readers. Accessibility Insights leaves them out of aria-hidden-focus for that reason
 * (microsoft/accessibility-insights-web#7605); so do we, and nothing else.
 */
function tabsterDummy(rule: string, html: string): boolean {
  return rule === "aria-hidden-focus" && /data-tabster-dummy|data-is-focus-trap-zone-bumper/.test(html);
}

/** axe-core with WCAG 2 A and AA rules: no serious or critical violation on the page. */
export async function expectAccessible(page: Page, where: string, within?: string): Promise<void> {
  // A dialog fading in is mid-way between colours: check what the admin sees once it settles.
  for (const frame of page.frames()) {
    await frame.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running")).catch(() => undefined);
  }
  // In the Teams host page only the tab's frame is ours, not the host's own header: axe-core
  // runs inside that frame itself. (AxeBuilder's own descent into a cross-site frame stopped
  // reaching it with Debian's Chromium 156: it tested the iframe element and nothing within.)
  const results = within ? await axeInFrame(page, within) : await new AxeBuilder({ page }).withTags(TAGS).analyze();
  expect(results.passes.length, `axe-core checked something on ${where}`).toBeGreaterThan(0);
  if (within) {
    const inFrame = results.passes.some((rule) => rule.nodes.length > 0);
    expect(inFrame, `axe-core looked inside ${within} on ${where}`).toBe(true);
  }
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ ...v, nodes: v.nodes.filter((n) => !tabsterDummy(v.id, n.html)) }))
    .filter((v) => v.nodes.length > 0);
  const described = bad.map(
    (v) => `${v.impact} ${v.id}: ${v.help}\n` + v.nodes.slice(0, 5).map((n) => `    ${n.target.join(" ")}: ${n.failureSummary ?? ""}`).join("\n"),
  );
  expect(described, `axe-core on ${where}`).toEqual([]);
}

const TAGS = ["wcag2a", "wcag2aa"];
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core run inside the frame `selector` names, on that frame's own document. */
async function axeInFrame(page: Page, selector: string): Promise<AxeResults> {
  const frame = await (await page.waitForSelector(selector)).contentFrame();
  if (!frame) throw new Error(`${selector} is not a frame with a document`);
  await frame.evaluate(AXE_SOURCE);
  return frame.evaluate(
    (tags) => (window as unknown as { axe: { run: (c: Document, o: object) => Promise<AxeResults> } }).axe.run(document, { runOnly: { type: "tag", values: tags } }),
    TAGS,
  );
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Sign `email` in outside Teams, through the tab's button and the sandbox's Entra. */
export async function signIn(page: Page, sandbox: Sandbox, email: string, at = "/tab/"): Promise<void> {
  await page.goto(at);
  const button = page.getByRole("link", { name: "Sign in with Microsoft" }).or(page.getByRole("button", { name: "Sign in with Microsoft" }));
  await expect(button).toBeVisible();
  await sandbox.signInAs(email);
  try {
    await button.click();
    await page.waitForURL((url) => url.origin === new URL(env.product).origin && url.pathname.startsWith("/tab"));
    await expect(page.getByText("Signing you in…")).toHaveCount(0);
  } finally {
    await sandbox.signInAs(null);
  }
}

/** The tab's page named `label` in its navigation. */
export async function openPage(page: Page, label: string): Promise<void> {
  await page.getByRole("tab", { name: label }).click();
  await expect(page.getByRole("heading", { name: label, level: 1 })).toBeVisible();
}

export type TeamsTheme = "default" | "dark" | "contrast";

/** The sandbox's Teams web for `user`, with the tab in its frame. */
export async function openInTeams(page: Page, user: string, theme: TeamsTheme = "default") {
  const query = new URLSearchParams({ user, tab: `${env.product}/tab/`, theme });
  await page.goto(`${env.sandbox}/_sandbox/teams/host?${query}`);
  const tab = page.frameLocator("#tab");
  await expect(tab.locator("html")).toHaveAttribute("data-theme", theme);
  return tab;
}

export async function hostLog(page: Page): Promise<{ messages: string[]; popupMessages: string[]; authResults: [boolean, string][]; unanswered: string[] }> {
  return page.evaluate(() => {
    const host = (window as unknown as { sandboxHost: Record<string, unknown> }).sandboxHost;
    return JSON.parse(JSON.stringify({ messages: host.messages, popupMessages: host.popupMessages, authResults: host.authResults, unanswered: host.unanswered }));
  });
}
