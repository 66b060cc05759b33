import { env, expect, expectAccessible, openPage, shot, signIn, test } from "./fixtures";

test("Rules: a meeting that should take no calls sets RingCentral Do not disturb, and Reset brings the defaults back", async ({ page, sandbox }) => {
  await signIn(page, sandbox, env.admin);
  await openPage(page, "Call presence rules");
  await expectAccessible(page, "Call presence rules");
  await shot(page, "rules");

  const customise = page.getByRole("switch", { name: "Customize RingCentral call presence with Microsoft Teams presence" });
  await customise.check();
  const meeting = page.getByRole("combobox", { name: "Rule for In a meeting" });
  await meeting.selectOption({ label: "Do not accept any calls" });
  await expect(page.getByTestId("unsaved-badge")).toBeVisible();
  await expect(page.getByTestId("ringcentral-in_a_meeting")).toContainText("Not saved yet");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByTestId("unsaved-badge")).toHaveCount(0);
  await expect(page.getByTestId("ringcentral-in_a_meeting")).toContainText("DoNotAcceptAnyCalls");
  await expectAccessible(page, "Call presence rules, customised");
  await shot(page, "rules-saved");

  await sandbox.call("POST", `/_sandbox/teams/${encodeURIComponent(env.meetingEmail)}/meeting`, { action: "start" });
  try {
    await expect
      .poll(async () => (await sandbox.person(env.meetingEmail)).ringcentral?.presence.dndStatus, {
        timeout: 30_000,
        message: `RingCentral Do not disturb for ${env.meetingEmail} in a meeting`,
      })
      .toBe("DoNotAcceptAnyCalls");
    const rc = (await sandbox.person(env.meetingEmail)).ringcentral!;
    const call = await sandbox.call<{ rings: boolean; reason: string }>(
      "POST",
      `/_sandbox/ringcentral/${encodeURIComponent(rc.email)}/inbound-call`,
      { queue: false },
    );
    expect(call.rings, `an inbound call while in a meeting: ${call.reason}`).toBe(false);
  } finally {
    await sandbox.call("POST", `/_sandbox/teams/${encodeURIComponent(env.meetingEmail)}/meeting`, { action: "end" });
  }

  await page.getByRole("button", { name: "Reset to default" }).click();
  const dialog = page.getByRole("alertdialog", { name: "Reset the call presence rules?" });
  await expect(dialog).toBeVisible();
  await expectAccessible(page, "the reset confirmation");
  await shot(page, "rules-reset-confirm");
  await dialog.getByRole("button", { name: "Reset to default" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(meeting).not.toHaveValue("no_calls");
  const rules = (await (await page.request.get("/api/tab/rules")).json()) as {
    rows: { state: string; rule: string }[];
    defaults: Record<string, string>;
  };
  for (const row of rules.rows) expect(row.rule, row.state).toBe(rules.defaults[row.state]);
});
