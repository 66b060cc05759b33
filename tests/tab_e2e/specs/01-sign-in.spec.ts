import { env, expect, expectAccessible, shot, signIn, test } from "./fixtures";

test("an admin signs in outside Teams and sees the overview", async ({ page, sandbox, blocked }) => {
  await page.goto("/tab/");
  await expect(page.getByRole("heading", { name: "Presence Sync" })).toBeVisible();
  await expect(page.getByText("Sign in with your Microsoft work account")).toBeVisible();
  await expectAccessible(page, "the sign-in screen");
  await shot(page, "sign-in");

  await signIn(page, sandbox, env.admin);
  await expect(page.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
  await expect(page.getByRole("tab", { name: "People" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Microsoft consent" })).toBeVisible();
  await expect(page.getByText("Loading status…")).toHaveCount(0);
  await expectAccessible(page, "Overview");
  await shot(page, "overview");
  expect(blocked).toEqual([]);
});
