// Takes the README's pictures in Debian's Chromium: every page of the tab signed in as the
// admin, the bot's status card drawn by Microsoft's Adaptive Cards renderer, and the sandbox's
// live page. Driven by docs/screenshots.py, which starts the sandbox and the product and passes
// PRODUCT_URL, SANDBOX_URL, SIGN_IN_URL, OUT_DIR, CARD_FILE, RENDERER and SHOTS (the page list)
// in the environment. Playwright comes from tests/tab_e2e (NODE_PATH); it never downloads a
// browser, and every request to a host other than loopback is aborted.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("@playwright/test");
const { launchOptions } = require("../tests/tab_e2e/chromium.cjs");

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/screenshots`);
  return value;
};

const product = env("PRODUCT_URL");
const sandbox = env("SANDBOX_URL");
const out = env("OUT_DIR");
const shots = JSON.parse(env("SHOTS"));
const viewport = { width: shots.width, height: shots.maxHeight };

async function settled(page) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await page.evaluate(() => document.fonts.ready);
}

/** The page from the top, as tall as its content but no taller than the viewport. */
async function take(page, file) {
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  const clip = { x: 0, y: 0, width: viewport.width, height: Math.min(height, viewport.height) };
  await page.screenshot({ path: path.join(out, file), clip, fullPage: true, animations: "disabled", caret: "hide" });
  console.log(`took ${file}`);
}

async function tabPages(page) {
  await page.goto(env("SIGN_IN_URL"));
  await page.waitForURL(`${product}/tab/**`);
  await page.getByText("Signing you in…").waitFor({ state: "detached" }).catch(() => undefined);
  for (const tab of shots.pages) {
    await page.goto(`${product}/tab/${tab.path}`);
    await page.getByRole("heading", { name: tab.label, level: 1, exact: true }).waitFor();
    await page.waitForFunction(() => !Array.from(document.querySelectorAll("*")).some(
      (el) => el.children.length === 0 && /^Loading/.test(el.textContent ?? "")));
    // A new page in the tab's navigation needs its own picture: say so instead of skipping it.
    const named = (await page.getByRole("tablist").getByRole("tab").allInnerTexts()).map((t) => t.trim());
    const listed = shots.pages.map((p) => p.label);
    if (JSON.stringify(named) !== JSON.stringify(listed)) {
      throw new Error(`the tab's navigation shows ${JSON.stringify(named)}, docs/screenshots.py lists ${JSON.stringify(listed)}: add the new page to TAB_PAGES`);
    }
    await settled(page);
    await take(page, tab.file);
  }
}

// Teams' light theme, as far as Adaptive Cards host config goes.
const ink = { default: "#242424", subtle: "#616161" };
const colors = {
  default: ink,
  dark: ink,
  light: { default: "#ffffff", subtle: "#f5f5f5" },
  accent: { default: "#5b5fc7", subtle: "#4f52b2" },
  good: { default: "#0e700e", subtle: "#107c10" },
  warning: { default: "#835b00", subtle: "#835b00" },
  attention: { default: "#c50f1f", subtle: "#b10e1c" },
};
const hostConfig = {
  fontFamily: '"Segoe UI", system-ui, sans-serif',
  supportsInteractivity: true,
  spacing: { small: 4, default: 8, medium: 16, large: 20, extraLarge: 24, padding: 16 },
  separator: { lineThickness: 1, lineColor: "#e0e0e0" },
  fontSizes: { small: 12, default: 14, medium: 16, large: 18, extraLarge: 24 },
  fontWeights: { lighter: 300, default: 400, bolder: 600 },
  containerStyles: {
    default: { backgroundColor: "#ffffff", foregroundColors: colors },
    emphasis: { backgroundColor: "#f5f5f5", foregroundColors: colors },
    good: { backgroundColor: "#f1faf1", foregroundColors: colors },
    attention: { backgroundColor: "#fdf3f4", foregroundColors: colors },
    warning: { backgroundColor: "#fff9f5", foregroundColors: colors },
    accent: { backgroundColor: "#ebf3fc", foregroundColors: colors },
  },
  actions: { maxActions: 6, buttonSpacing: 8, spacing: "default", actionsOrientation: "horizontal", actionAlignment: "left", showCard: { actionMode: "inline" } },
  factSet: { title: { weight: "bolder", wrap: true, maxWidth: 200 }, value: { wrap: true }, spacing: 8 },
};

const CARD_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
body{margin:0;background:#f5f5f5;font-family:"Segoe UI",system-ui,sans-serif;color:#242424}
#chat{display:inline-block;padding:24px 32px}
.who{font-size:12px;color:#616161;margin:0 0 6px 2px}.who b{color:#242424;font-weight:600}
#card{width:560px;background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.14),0 0 2px rgba(0,0,0,.12);overflow:hidden}
.ac-pushButton{font:600 14px "Segoe UI",system-ui,sans-serif;padding:5px 12px;min-height:32px;border-radius:4px;
border:1px solid #d1d1d1;background:#fff;color:#242424;cursor:pointer}
.ac-pushButton.style-positive{background:#5b5fc7;border-color:#5b5fc7;color:#fff}
.ac-pushButton.style-destructive{color:#c50f1f}
a{color:#5b5fc7}
</style></head><body><div id="chat"><p class="who"><b>Presence Sync</b> answered <b>status</b></p><div id="card"></div></div></body></html>`;

async function card(page) {
  await page.setContent(CARD_PAGE);
  await page.addScriptTag({ path: env("RENDERER") });
  const json = JSON.parse(fs.readFileSync(env("CARD_FILE"), "utf8"));
  const problems = await page.evaluate(({ json, hostConfig }) => {
    const AC = window.AdaptiveCards;
    const esc = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
    // Teams' card markdown, as much of it as the bot uses: bold, italics, links, line breaks.
    AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
      result.outputHtml = esc(text)
        .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
        .replace(/(^|\s)_(.+?)_(?=\s|$)/g, "$1<em>$2</em>")
        .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '<a href="$2">$1</a>')
        .replace(/\n/g, "<br>");
      result.didProcess = true;
    };
    const adaptive = new AC.AdaptiveCard();
    adaptive.hostConfig = new AC.HostConfig(hostConfig);
    const context = new AC.SerializationContext(AC.Versions.v1_5);
    adaptive.parse(json, context);
    const said = [];
    for (let i = 0; i < context.eventCount; i++) said.push(context.getEventAt(i).message);
    const rendered = adaptive.render();
    if (!rendered) said.push("the renderer drew nothing");
    else document.getElementById("card").appendChild(rendered);
    return said;
  }, { json, hostConfig });
  if (problems.length) throw new Error(`the renderer refused the status card: ${problems.join("; ")}`);
  await settled(page);
  await page.locator("#chat").screenshot({ path: path.join(out, shots.card), animations: "disabled" });
  console.log(`took ${shots.card}`);
}

async function livePage(page) {
  await page.goto(`${sandbox}/_sandbox/`);
  await page.locator("#updated", { hasText: "updated" }).waitFor();
  await page.locator("#rows tr").first().waitFor();
  // The page refreshes every two seconds; freeze it between two refreshes.
  await page.evaluate(() => {
    const top = window.setInterval(() => undefined, 0);
    for (let id = 0; id <= top; id++) window.clearInterval(id);
  });
  await settled(page);
  await take(page, shots.live);
}

async function main() {
  const browser = await chromium.launch({ ...launchOptions, args: [...launchOptions.args, "--font-render-hinting=none"] });
  try {
    const context = await browser.newContext({
      viewport,
      deviceScaleFactor: 1,
      colorScheme: "light",
      reducedMotion: "reduce",
      locale: "en-US",
      timezoneId: "UTC",
      ignoreHTTPSErrors: true,
    });
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      const local = ["data:", "blob:", "about:"].includes(url.protocol) || ["127.0.0.1", "localhost"].includes(url.hostname);
      return local ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await tabPages(page);
    await card(page);
    await livePage(page);
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
