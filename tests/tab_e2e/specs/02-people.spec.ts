import { env, expect, expectAccessible, openPage, shot, signIn, test } from "./fixtures";

test("People: search narrows the list, and unsyncing someone stops their sync and tells them", async ({ page, sandbox }) => {
  await signIn(page, sandbox, env.admin);
  await openPage(page, "People");
  const table = page.getByTestId("people-table");
  const rows = table.locator("tbody tr");
  await expect(rows.first()).toBeVisible();
  const everyone = await rows.count();
  expect(everyone).toBeGreaterThan(3);
  await expectAccessible(page, "People");
  await shot(page, "people");

  const person = await sandbox.person(env.unsyncEmail);
  await page.getByRole("searchbox", { name: "Search people" }).or(page.getByLabel("Search people")).first().fill(env.unsyncEmail);
  await expect(rows).toHaveCount(1);
  const row = rows.filter({ hasText: env.unsyncEmail });
  await expect(row).toBeVisible();
  await expect(row.getByText("Synced", { exact: true })).toBeVisible();
  await shot(page, "people-search");

  await row.getByRole("button", { name: `Unsync ${person.display_name}` }).click();
  await expect(page.getByTestId("job-report")).toContainText("finished");
  await expect(row.getByRole("button", { name: `Sync ${person.display_name}` })).toBeVisible();
  await shot(page, "people-unsynced");

  // The product itself says so, not just the page.
  const answer = await page.request.get(`/api/tab/people?search=${encodeURIComponent(env.unsyncEmail)}`);
  expect(answer.status()).toBe(200);
  const listed = (await answer.json()) as { people: { email: string; synced: boolean }[] };
  expect(listed.people.map((p) => [p.email.toLowerCase(), p.synced])).toEqual([[env.unsyncEmail.toLowerCase(), false]]);

  // And the person is told: in their chat with the bot, or by mail when the bot cannot reach them.
  await expect
    .poll(
      async () => {
        const chat = await sandbox.call("GET", `/_sandbox/chats/${encodeURIComponent(env.unsyncEmail)}`).catch(() => null);
        const mail = await sandbox.call("GET", "/_sandbox/mail").catch(() => null);
        return JSON.stringify(chat).includes("no longer synced") || JSON.stringify(mail).includes("no longer synced");
      },
      { timeout: 45_000, message: `a "no longer synced" notice for ${env.unsyncEmail}` },
    )
    .toBe(true);

  // Searching for nothing shows everyone again.
  await page.getByLabel("Search people").first().fill("");
  await expect(rows).toHaveCount(everyone);
});
