// Loads the tab in Debian's Chromium, signed in, and times each load: first contentful paint,
// and when the overview has rendered with the server's data (its h1 and its first section).
// Driven by bench/tab_first_render.py, which starts the sandbox and the product and passes
// PRODUCT_URL, LOADS and the sign-in URL in the environment. Prints one JSON line.
const { chromium } = require("@playwright/test");
const { launchOptions } = require("../tests/tab_e2e/chromium.cjs");

async function main() {

const product = process.env.PRODUCT_URL;
const loads = Number(process.env.LOADS ?? "20");
const browser = await chromium.launch(launchOptions);
const context = await browser.newContext({ ignoreHTTPSErrors: true });
const page = await context.newPage();
await page.route(
  (url) => !["127.0.0.1", "localhost"].includes(url.hostname),
  (route) => route.abort(),
);
await page.goto(process.env.SIGN_IN_URL);
await page.waitForURL(`${product}/tab/**`);
// Every load is cold: nothing comes from the browser's cache.
const cdp = await context.newCDPSession(page);
await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
const samples = [];
for (let i = 0; i < loads; i++) {
  await page.goto(`${product}/tab/`);
  // The overview has rendered the server's answer: its sections (h2) are on screen.
  await page.locator("h2").first().waitFor({ state: "visible" });
  samples.push(
    await page.evaluate(() => {
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      const nav = performance.getEntriesByType("navigation")[0];
      return {
        fcp: paint ? paint.startTime : null,
        rendered: performance.now(),
        domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
      };
    }),
  );
}
await browser.close();
console.log(JSON.stringify(samples));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
