import { env, expect, expectAccessible, shot, signIn, test } from "./fixtures";

interface SandboxUser {
  teams?: { userPrincipalName?: string };
  ringcentral?: { email?: string };
}

test("an admin adds a RingCentral identity by its JWT credential and removes it", async ({ page, sandbox, blocked }) => {
  // Someone the sandbox's RingCentral gives the Edit Presence right and a JWT credential.
  const state = await sandbox.call<{ users: SandboxUser[] }>("GET", "/_sandbox/state");
  const email = state.users
    .map((u) => u.ringcentral?.email)
    .filter((e): e is string => !!e && e !== env.admin && e !== env.nonAdmin)
    .at(-1)!;
  const issued = await sandbox.call<{ jwt: string }>("POST", "/_sandbox/ringcentral/identities", { email });

  await page.goto("/tab/");
  await signIn(page, sandbox, env.admin);
  const section = page.getByRole("region", { name: "RingCentral identities" });
  await expect(section.getByText("Only the main RingCentral connection writes presence.")).toBeVisible();
  await expect(page.getByRole("region", { name: "RingCentral write capacity" })).toBeVisible();

  await section.getByLabel("JWT credential of another RingCentral user").fill(issued.jwt);
  await section.getByRole("button", { name: "Add identity" }).click();
  await expect(section.getByText(`${email} now carries presence writes too.`)).toBeVisible();
  const list = section.getByRole("list", { name: "RingCentral identities" });
  await expect(list.getByText(email)).toBeVisible();
  await expect(section.getByLabel("JWT credential of another RingCentral user")).toHaveValue("");
  await expectAccessible(page, "Overview with a RingCentral identity");
  await shot(page, "overview-identities");

  await list.getByRole("button", { name: `Remove RingCentral identity ${email}` }).click();
  const dialog = page.getByRole("alertdialog");
  await dialog.getByRole("button", { name: "Remove" }).click();
  await expect(section.getByText("Only the main RingCentral connection writes presence.")).toBeVisible();
  expect(blocked).toEqual([]);
});
