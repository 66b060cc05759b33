import { env, expect, expectAccessible, openPage, shot, signIn, test } from "./fixtures";

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
  await openPage(page, "Activity");
  await expect(page.getByText("Loading activity…")).toHaveCount(0);
  await expectAccessible(page, "Activity");
  await shot(page, "activity");
  expect(blocked).toEqual([]);
});

test.describe("in a browser that prefers dark", () => {
  test.use({ colorScheme: "dark" });

  // Outside Teams nothing but the browser's preference picks the theme; high contrast is
  // Teams' own theme, so the sign-in screen (never shown in Teams) has no contrast variant.
  test("the sign-in screen is dark and passes axe-core", async ({ page }) => {
    await page.goto("/tab/");
    await expect(page.getByText("Sign in with your Microsoft work account")).toBeVisible();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    await expectAccessible(page, "the sign-in screen (dark)");
    await shot(page, "sign-in-dark");
  });
});
