import { defineConfig, devices } from "@playwright/test";
import { launchOptions } from "./chromium.cjs";

// The pytest wrapper (test_tab_in_browser.py) starts the sandbox and the product and passes
// their addresses in the environment; Debian's Chromium is the browser, never a download.
export default defineConfig({
  testDir: "./specs",
  outputDir: process.env.TAB_E2E_OUTPUT ?? "./test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    baseURL: process.env.PRODUCT_URL,
    // The sandbox's own CA signs both the sandbox and the product.
    ignoreHTTPSErrors: true,
    reducedMotion: "reduce",
    screenshot: "only-on-failure",
    trace: "off",
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions,
      },
    },
  ],
});
