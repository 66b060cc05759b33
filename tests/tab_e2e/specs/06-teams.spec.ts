import { env, expect, expectAccessible, hostLog, openInTeams, shot, test } from "./fixtures";

test("in Teams the tab signs in by SSO, opens consent in a pop-up and follows the theme", async ({ page, sandbox }) => {
  const tab = await openInTeams(page, env.admin);
  await expect(tab.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
  await expect(tab.getByText("Sign in with Microsoft")).toHaveCount(0);
  await expect(tab.getByRole("button", { name: "Sign out" })).toHaveCount(0);
  expect((await hostLog(page)).messages).toContain("authentication.getAuthToken");
  await shot(page, "teams-overview");

  // The sandbox's Entra approves admin consent for the admin, as the admin's click would.
  await sandbox.call("POST", "/_sandbox/consent", { sign_in_as: env.admin, admin_decision: "approve" });
  const seen: string[] = [];
  try {
    const opened = page.context().waitForEvent("page");
    await tab.getByRole("button", { name: "Grant consent again" }).click();
    const popup = await opened;
    popup.on("framenavigated", (frame) => {
      if (frame === popup.mainFrame()) seen.push(frame.url());
    });
    seen.push(popup.url());
    await expect
      .poll(async () => (await hostLog(page)).authResults.length, { timeout: 30_000, message: "the pop-up's answer reaches the tab" })
      .toBeGreaterThan(0);
    const log = await hostLog(page);
    expect(log.messages).toContain("authentication.authenticate");
    // The pop-up spoke teams-js to its opener, the host page.
    expect(log.popupMessages.length).toBeGreaterThan(0);
    expect(log.authResults[0], `the consent pop-up's result; it went through ${seen.join(" → ")}`).toEqual([true, expect.stringContaining('"ok":true')]);
  } finally {
    await sandbox.call("POST", "/_sandbox/consent", { sign_in_as: null, admin_decision: null });
  }
  const visited = seen.map((u) => new URL(u));
  expect(
    visited.some((u) => u.origin === new URL(env.sandbox).origin && u.pathname.startsWith("/entra/")) ||
      visited.some((u) => u.origin === new URL(env.product).origin && u.pathname.startsWith("/connect/")),
    `the pop-up reached the sandbox's consent page or the product's result page: ${seen.join(" → ")}`,
  ).toBe(true);
  await expect(tab.getByRole("heading", { name: "Microsoft consent" })).toBeVisible();

  await page.evaluate(() => (window as unknown as { sandboxHost: { setTheme(t: string): void } }).sandboxHost.setTheme("dark"));
  await expect(tab.locator("html")).toHaveAttribute("data-theme", "dark");
  await expectAccessible(page, "Overview in Teams after switching to dark", "#tab");
  await shot(page, "teams-dark-after-switch");

  // Changes go with the SSO bearer (no cookie, no CSRF token) and the job is polled.
  await tab.getByRole("tab", { name: "People" }).click();
  await tab.getByRole("toolbar", { name: "Actions on people" }).getByRole("button", { name: "Sync all" }).click();
  const dialog = tab.getByRole("alertdialog", { name: "Sync everyone?" });
  await expect(dialog.getByTestId("preview-summary")).toContainText("Presence sync starts for");
  await dialog.getByRole("button", { name: "Sync all" }).click();
  await expect(tab.getByTestId("job-report")).toContainText("Sync all finished", { timeout: 60_000 });
  await shot(page, "teams-sync-all-report");
});

for (const theme of ["default", "dark", "contrast"] as const) {
  test(`in Teams, ${theme} theme: every page, the dialogs and the refusal pass axe-core`, async ({ page }) => {
    const tab = await openInTeams(page, env.admin, theme);
    await expect(tab.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
    await expect(tab.getByText("Loading status…")).toHaveCount(0);
    await expectAccessible(page, `Overview (${theme})`, "#tab");
    await shot(page, `teams-${theme}-overview`);

    await tab.getByRole("tab", { name: "People" }).click();
    await expect(tab.getByRole("heading", { name: "People", level: 1 })).toBeVisible();
    await expect(tab.getByTestId("people-table").locator("tbody tr").first()).toBeVisible();
    await expectAccessible(page, `People (${theme})`, "#tab");
    await shot(page, `teams-${theme}-people`);
    await tab.getByRole("toolbar", { name: "Actions on people" }).getByRole("button", { name: "Sync all" }).click();
    const syncAll = tab.getByRole("alertdialog", { name: "Sync everyone?" });
    await expect(syncAll.getByTestId("preview-summary")).toBeVisible();
    await expectAccessible(page, `the Sync all dialog (${theme})`, "#tab");
    await shot(page, `teams-${theme}-sync-all-dialog`);
    await syncAll.getByRole("button", { name: "Cancel" }).click();
    await expect(syncAll).toHaveCount(0);

    await tab.getByRole("tab", { name: "Call presence rules" }).click();
    await expect(tab.getByRole("heading", { name: "Call presence rules", level: 1 })).toBeVisible();
    await expect(tab.getByTestId("rules-table")).toBeVisible();
    await expectAccessible(page, `Call presence rules (${theme})`, "#tab");
    await shot(page, `teams-${theme}-rules`);
    await tab.getByRole("button", { name: "Reset to default" }).click();
    const reset = tab.getByRole("alertdialog", { name: "Reset the call presence rules?" });
    await expect(reset).toBeVisible();
    await expectAccessible(page, `the reset confirmation (${theme})`, "#tab");
    await reset.getByRole("button", { name: "Cancel" }).click();
    await expect(reset).toHaveCount(0);

    await tab.getByRole("tab", { name: "Activity" }).click();
    await expect(tab.getByRole("heading", { name: "Activity", level: 1 })).toBeVisible();
    await expect(tab.getByText("Loading activity…")).toHaveCount(0);
    await expectAccessible(page, `Activity (${theme})`, "#tab");
    await shot(page, `teams-${theme}-activity`);

    const refused = await openInTeams(page, env.nonAdmin, theme);
    await expect(refused.getByRole("heading", { name: "You can't manage Presence Sync" })).toBeVisible();
    await expectAccessible(page, `the refusal screen (${theme})`, "#tab");
    await shot(page, `teams-${theme}-refusal`);
  });
}
