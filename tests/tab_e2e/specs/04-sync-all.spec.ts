import { env, expect, expectAccessible, openPage, shot, signIn, test } from "./fixtures";

test("Sync all: the dialog says how many people, and the progress ends in a report", async ({ page, sandbox }) => {
  await signIn(page, sandbox, env.admin);
  await openPage(page, "People");
  const preview = (await (await page.request.get("/api/tab/preview?kind=sync-all")).json()) as {
    linked: number;
    change: number;
    unchanged: number;
  };
  await page.getByRole("toolbar", { name: "Actions on people" }).getByRole("button", { name: "Sync all" }).click();
  const dialog = page.getByRole("alertdialog", { name: "Sync everyone?" });
  const summary = dialog.getByTestId("preview-summary");
  await expect(summary).toContainText(`Presence sync starts for ${preview.change} ${preview.change === 1 ? "person" : "people"}`);
  await expect(summary).toContainText(`${preview.unchanged} of ${preview.linked} linked people are synced already`);
  await expectAccessible(page, "the Sync all dialog");
  await shot(page, "sync-all-dialog");

  // The job may finish within a second: record every progress value the bar shows.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { progressSeen: string[] }).progressSeen = seen;
    new MutationObserver(() => {
      const bar = document.querySelector('[data-testid="job-progress"] [role="progressbar"]');
      if (bar) seen.push(bar.getAttribute("aria-valuetext") ?? bar.getAttribute("aria-valuenow") ?? "shown");
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await dialog.getByRole("button", { name: "Sync all" }).click();
  await expect(dialog).toHaveCount(0);
  // With the dialog gone the page is back for screen readers too.
  await expect(page.locator("#root")).not.toHaveAttribute("aria-hidden", "true");
  const report = page.getByTestId("job-report");
  await expect(page.getByTestId("job-progress").or(report)).toBeVisible();
  await expect(report).toContainText("finished", { timeout: 60_000 });
  await expect(report).toContainText(/(\d+) of \1 processed/);
  await expect(report).toContainText(`${preview.change} synced, ${preview.unchanged} already in that state, 0 failed`);
  await expect(report).toContainText("Sync all finished");
  await expect(page.getByTestId("job-progress")).toHaveCount(0);
  const progress = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
  expect(progress.length, "the progress bar was shown while the job ran").toBeGreaterThan(0);
  await expectAccessible(page, "the Sync all report");
  await shot(page, "sync-all-report");
});
