import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { App } from "../App";
import type { Rules } from "../api/types";
import { adminServer, error, rules, services } from "../test/fakeServer";
import { findDialog } from "../test/dialogs";

beforeEach(() => window.history.pushState(null, "", "/tab/rules"));

async function openRules(server = adminServer()) {
  render(<App services={services(server)} />);
  await screen.findByRole("heading", { level: 1, name: "Call presence rules" });
  await screen.findByTestId("rules-table");
  return server;
}

describe("Call presence rules page", () => {
  it("shows one row per Teams state, the notes on In a call and In a meeting, and their RingCentral presence", async () => {
    await openRules();
    const table = screen.getByTestId("rules-table");
    expect(within(table).getAllByRole("row")).toHaveLength(6);
    expect(screen.getAllByText(/Teams often reports a meeting as a call/)).toHaveLength(2);
    expect(screen.getByTestId("ringcentral-offline")).toHaveTextContent("Offline · Accept all calls (TakeAllCalls)");
    expect(screen.getByRole("switch", { name: "Customize RingCentral call presence with Microsoft Teams presence" })).not.toBeChecked();
    expect(screen.getByRole("switch", { name: "Preserve RingCentral status during Teams inactivity" })).not.toBeChecked();
    expect(screen.getByRole("button", { name: "Save" })).toBeDisabled();
  });

  it("marks unsaved changes and shows the RingCentral presence an unsaved choice gives", async () => {
    await openRules();
    expect(screen.queryByText("Unsaved changes")).not.toBeInTheDocument();
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Rule for In a meeting" }), "no_calls");
    expect(screen.getByText("Unsaved changes")).toBeInTheDocument();
    expect(screen.getAllByTestId("rules-unsaved-marker").length).toBeGreaterThan(0);
    expect(screen.getByRole("tab", { name: /Call presence rules.*unsaved changes/ })).toBeInTheDocument();
    expect(screen.getByTestId("ringcentral-in_a_meeting")).toHaveTextContent("Busy · Do not accept any calls (DoNotAcceptAnyCalls)");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Rule for Offline" }), "no_queue_calls");
    expect(screen.getByTestId("ringcentral-offline")).toHaveTextContent("Offline · Do not accept queue calls (DoNotAcceptDepartmentCalls)");
    // Choosing the saved value again is no change at all.
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Rule for In a meeting" }), "no_queue_calls");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Rule for Offline" }), "accept_all_calls");
    expect(screen.queryByText("Unsaved changes")).not.toBeInTheDocument();
  });

  it("keeps the draft when the admin visits another page and comes back", async () => {
    const server = await openRules();
    await userEvent.click(screen.getByRole("switch", { name: "Customize RingCentral call presence with Microsoft Teams presence" }));
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Rule for Busy" }), "no_calls");
    await userEvent.click(screen.getByRole("tab", { name: "People" }));
    await screen.findByRole("heading", { level: 1, name: "People" });
    expect(window.location.pathname).toBe("/tab/people");
    expect(screen.getByRole("tab", { name: /Call presence rules.*unsaved changes/ })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("tab", { name: /Call presence rules/ }));
    await screen.findByTestId("rules-table");
    expect(screen.getByRole("combobox", { name: "Rule for Busy" })).toHaveValue("no_calls");
    expect(screen.getByRole("switch", { name: "Customize RingCentral call presence with Microsoft Teams presence" })).toBeChecked();
    expect(screen.getByText("Unsaved changes")).toBeInTheDocument();
    expect(server.callsTo("PUT /api/tab/rules")).toHaveLength(0);
  });

  it("saves the draft with the version it was started from", async () => {
    const server = adminServer().on("PUT /api/tab/rules", (call) => {
      const body = call.body as { version: number; rules: Record<string, "no_calls"> };
      return { body: rules(body.version + 1, body.rules, { customisation: true }) };
    });
    await openRules(server);
    await userEvent.click(screen.getByRole("switch", { name: "Customize RingCentral call presence with Microsoft Teams presence" }));
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Rule for In a call" }), "no_calls");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    await screen.findByText(/Call presence rules saved/);
    const [put] = server.callsTo("PUT /api/tab/rules");
    expect(put.body).toMatchObject({ version: 7, customisation: true, preserveDuringInactivity: false, rules: { in_a_call: "no_calls", busy: "accept_all_calls" } });
    expect(screen.queryByText("Unsaved changes")).not.toBeInTheDocument();
  });

  it("reports a concurrent change without overwriting it, and loads theirs on request", async () => {
    const theirs: Rules = rules(8, { in_a_meeting: "accept_all_calls" }, { customisation: true });
    const server = adminServer().on("PUT /api/tab/rules", error(409, "conflict", "The rules changed since version 7", { current: theirs }));
    await openRules(server);
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Rule for In a meeting" }), "no_calls");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    const conflict = await screen.findByTestId("rules-conflict");
    expect(within(conflict).getByText("Someone else changed these rules")).toBeInTheDocument();
    expect(within(conflict).getByText("In a meeting: theirs Accept all calls, yours Do not accept any calls")).toBeInTheDocument();
    // Mine is still there, and nothing was sent again.
    expect(screen.getByRole("combobox", { name: "Rule for In a meeting" })).toHaveValue("no_calls");
    expect(screen.getByText("Unsaved changes")).toBeInTheDocument();
    expect(server.callsTo("PUT /api/tab/rules")).toHaveLength(1);
    expect(screen.getByRole("button", { name: "Save" })).toBeDisabled();

    await userEvent.click(within(conflict).getByRole("button", { name: "Load their version" }));
    expect(screen.queryByTestId("rules-conflict")).not.toBeInTheDocument();
    expect(screen.getByRole("combobox", { name: "Rule for In a meeting" })).toHaveValue("accept_all_calls");
    expect(screen.getByRole("switch", { name: "Customize RingCentral call presence with Microsoft Teams presence" })).toBeChecked();
    expect(screen.queryByText("Unsaved changes")).not.toBeInTheDocument();
  });

  it("resets to the defaults only after confirmation", async () => {
    const server = adminServer()
      .on("GET /api/tab/rules", { body: rules(7, { busy: "no_calls" }, { customisation: true }) })
      .on("POST /api/tab/rules/reset", { body: rules(8, {}, { customisation: true }) });
    await openRules(server);
    expect(screen.getByRole("combobox", { name: "Rule for Busy" })).toHaveValue("no_calls");
    await userEvent.click(screen.getByRole("button", { name: "Reset to default" }));
    const dialog = await findDialog();
    expect(within(dialog).getByText(/Busy → Accept all calls/)).toBeInTheDocument();
    expect(server.callsTo("POST /api/tab/rules/reset")).toHaveLength(0);
    await userEvent.click(within(dialog).getByRole("button", { name: "Reset to default", hidden: true }));
    await waitFor(() => expect(screen.getByRole("combobox", { name: "Rule for Busy" })).toHaveValue("accept_all_calls"));
    expect(server.callsTo("POST /api/tab/rules/reset")[0].body).toEqual({ version: 7 });
  });
});
