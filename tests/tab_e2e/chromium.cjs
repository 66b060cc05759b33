// Debian's Chromium as every Playwright run in this repository launches it: never a browser
// Playwright downloads, and nothing that phones home (background networking, component
// updates, sync, metrics reporting, default apps, crash reports, pings). No --disable-features
// here: Chromium keeps only the last one, and it would replace the list Playwright passes itself
// (translation and media routing off among them, lazy frame loading too, which axe-core needs
// to look inside the tab's frame). Used by playwright.config.ts here,
// tests/playground/say-help.cjs, bench/tab_first_render.cjs and docs/screenshots.cjs.
"use strict";

const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--metrics-recording-only",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--no-pings",
  ],
};

module.exports = { launchOptions };
