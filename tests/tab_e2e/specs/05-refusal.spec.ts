import { env, expect, expectAccessible, shot, signIn, test } from "./fixtures";

test("someone who is not an admin is told why they cannot manage Presence Sync", async ({ page, sandbox }) => {
  await signIn(page, sandbox, env.nonAdmin);
  await expect(page.getByRole("heading", { name: "You can't manage Presence Sync" })).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("is not a Presence Sync admin");
  await expect(page.getByRole("tab", { name: "People" })).toHaveCount(0);
  const status = await page.request.get("/api/tab/status");
  expect(status.status()).toBe(403);
  await expectAccessible(page, "the refusal screen");
  await shot(page, "refusal");
});
