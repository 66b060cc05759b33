// Opens Agents Playground in headless Chromium, says one message in the personal chat and
// waits for the bot's Adaptive Card that shows one of the expected texts.
//
//   node say-help.cjs PLAYGROUND_URL [--text help] [--expect TEXT]... [--timeout-ms 60000]
//
// Prints one JSON object: {"ok", "sent", "matched", "cards", "blocked", "error"}; exit 0 only
// when a card with an expected text appeared in time. Debian's Chromium is driven (no browser
// is downloaded) with its background networking off, and every request that leaves this
// machine is refused, so neither the browser nor the page can reach the internet.
"use strict";
const { chromium } = require("playwright");

const { launchOptions } = require("../tab_e2e/chromium.cjs");
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

function parseArgs(argv) {
  const options = { url: null, text: "help", expect: [], timeoutMs: 60000 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--text") options.text = argv[++i];
    else if (arg === "--expect") options.expect.push(argv[++i]);
    else if (arg === "--timeout-ms") options.timeoutMs = Number(argv[++i]);
    else if (options.url === null) options.url = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (!options.url) throw new Error("give the Playground's URL");
  if (options.expect.length === 0) options.expect.push("I keep your presence");
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const deadline = Date.now() + options.timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const report = { ok: false, sent: null, matched: null, cards: [], blocked: [], error: null };
  const args = [...launchOptions.args];
  if (typeof process.getuid === "function" && process.getuid() === 0) args.push("--no-sandbox");
  const browser = await chromium.launch({ executablePath: launchOptions.executablePath, headless: true, args });
  try {
    const context = await browser.newContext();
    // The Playground's page asks a CDN for fonts: refuse anything not on this machine.
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (LOCAL_HOSTS.has(url.hostname) || url.protocol === "data:") return route.continue();
      report.blocked.push(url.origin);
      return route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    page.setDefaultTimeout(left());
    await page.goto(options.url, { waitUntil: "load", timeout: left() });
    const box = page.getByRole("textbox").first();
    await box.waitFor({ state: "visible", timeout: left() });
    await box.click();
    await box.pressSequentially(options.text);
    await box.press("Enter");
    report.sent = options.text;
    const cards = page.locator(".ac-adaptiveCard");
    const wanted = cards.filter({ hasText: new RegExp(options.expect.map(escape).join("|")) });
    try {
      await wanted.first().waitFor({ state: "visible", timeout: left() });
    } finally {
      report.cards = (await cards.allInnerTexts()).map((t) => t.trim());
    }
    const shown = (await wanted.first().innerText()).trim();
    report.matched = options.expect.find((text) => shown.includes(text)) || null;
    report.ok = report.matched !== null;
  } catch (err) {
    report.error = String((err && err.message) || err).split("\n")[0];
  } finally {
    await browser.close();
  }
  report.blocked = [...new Set(report.blocked)];
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err) })}\n`);
  process.exitCode = 2;
});
