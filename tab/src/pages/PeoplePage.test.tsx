import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { App } from "../App";
import { adminServer, job, person, rules, services, status } from "../test/fakeServer";
import { findDialog, queryDialog } from "../test/dialogs";

beforeEach(() => window.history.pushState(null, "", "/tab/people"));

describe("People page", () => {
  it("shows each person's Teams and RingCentral identity and presence", async () => {
    const server = adminServer().on("GET /api/tab/people", {
      body: {
        people: [
          person(1, { teamsPresence: "Busy/InAMeeting", ringcentralPresence: "Busy, DoNotAcceptDepartmentCalls", synced: true }),
          person(2, { linked: false, ringcentral: null, reason: "no RingCentral user with this email" }),
        ],
        nextCursor: null,
      },
    });
    render(<App services={services(server)} />);
    const table = await screen.findByTestId("people-table");
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(within(rows[1]).getByText("User 1")).toBeInTheDocument();
    expect(within(rows[1]).getByText("Busy/InAMeeting")).toBeInTheDocument();
    expect(within(rows[1]).getByText("Busy, DoNotAcceptDepartmentCalls")).toBeInTheDocument();
    expect(within(rows[1]).getByRole("button", { name: "Unsync User 1" })).toBeEnabled();
    expect(within(rows[2]).getByText("no RingCentral user with this email")).toBeInTheDocument();
    expect(within(rows[2]).getByRole("button", { name: "Sync User 2" })).toBeDisabled();
    expect(screen.getByRole("heading", { level: 1, name: "People" })).toBeInTheDocument();
  });

  it("sends the search text to the server once typing settles", async () => {
    const server = adminServer();
    render(<App services={services(server)} />);
    await screen.findByTestId("people-table");
    await userEvent.type(screen.getByRole("searchbox", { name: "Search people" }), "ann");
    await waitFor(() => expect(server.callsTo("GET /api/tab/people").at(-1)?.query.get("search")).toBe("ann"));
    // Debounced: not one request per key.
    const searches = server.callsTo("GET /api/tab/people").map((c) => c.query.get("search"));
    expect(searches).not.toContain("a");
  });

  it("sends the filter and pages with the server's cursor, back and forth", async () => {
    const server = adminServer().on("GET /api/tab/people", (call) =>
      call.query.get("cursor") === "next-1"
        ? { body: { people: [person(3)], nextCursor: null } }
        : { body: { people: [person(1)], nextCursor: "next-1" } },
    );
    render(<App services={services(server)} />);
    await screen.findByText("User 1");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Show" }), "failed");
    await waitFor(() => expect(server.callsTo("GET /api/tab/people").at(-1)?.query.get("filter")).toBe("failed"));
    await screen.findByText("User 1");
    await userEvent.click(screen.getByRole("button", { name: "Next page" }));
    await screen.findByText("User 3");
    expect(server.callsTo("GET /api/tab/people").at(-1)?.query.get("filter")).toBe("failed");
    expect(screen.getByRole("button", { name: "Next page" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Previous page" }));
    await screen.findByText("User 1");
    expect(server.callsTo("GET /api/tab/people").at(-1)?.query.get("cursor")).toBeNull();
  });

  it("enables Sync selected once people are ticked, and syncs exactly them", async () => {
    const server = adminServer().on("POST /api/tab/people/sync", { status: 202, body: { job: job(), created: true } });
    render(<App services={services(server)} />);
    await screen.findByTestId("people-table");
    const syncSelected = screen.getByRole("button", { name: "Sync selected" });
    expect(syncSelected).toBeDisabled();
    await userEvent.click(screen.getByRole("checkbox", { name: "Select User 1" }));
    expect(syncSelected).toBeEnabled();
    await userEvent.click(syncSelected);
    await waitFor(() => expect(server.callsTo("POST /api/tab/people/sync")).toHaveLength(1));
    expect(server.callsTo("POST /api/tab/people/sync")[0].body).toEqual({ ids: ["p1"] });
    expect(await screen.findByTestId("job-progress")).toBeInTheDocument();
  });

  it("asks before Sync all, stating how many people it affects", async () => {
    const server = adminServer()
      .on("GET /api/tab/preview", {
        body: { kind: "sync-all", linked: 480, change: 30, unchanged: 450, unmatched: [{ reason: "no RingCentral user with this email", count: 12 }] },
      })
      .on("POST /api/tab/sync-all", { status: 202, body: { job: job({ kind: "sync all" }), created: true } });
    render(<App services={services(server)} />);
    await screen.findByTestId("people-table");
    await userEvent.click(screen.getByRole("button", { name: "Sync all" }));
    const dialog = await findDialog();
    expect(await within(dialog).findByText("30 people")).toBeInTheDocument();
    expect(within(dialog).getByText(/12 people: no RingCentral user with this email/)).toBeInTheDocument();
    expect(server.callsTo("GET /api/tab/preview")[0].query.get("kind")).toBe("sync-all");
    expect(server.callsTo("POST /api/tab/sync-all")).toHaveLength(0);
    await userEvent.click(within(dialog).getByRole("button", { name: "Sync all", hidden: true }));
    await waitFor(() => expect(server.callsTo("POST /api/tab/sync-all")).toHaveLength(1));
  });

  it("disables presence sync with the rules' version, then offers to enable it", async () => {
    let enabled = true;
    const server = adminServer()
      .on("GET /api/tab/status", () => ({ body: { ...status(), syncEnabled: enabled } }))
      .on("GET /api/tab/preview", { body: { kind: "disable", linked: 480, change: 450, unchanged: 30, unmatched: [] } })
      .on("POST /api/tab/disable", (call) => {
        enabled = false;
        return { body: { ...rules(), version: (call.body as { version: number }).version + 1, syncEnabled: false } };
      });
    render(<App services={services(server)} />);
    await screen.findByTestId("people-table");
    await userEvent.click(screen.getByRole("button", { name: "Disable presence sync" }));
    const dialog = await findDialog();
    expect(await within(dialog).findByText("450 people")).toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole("button", { name: "Disable presence sync", hidden: true }));
    await waitFor(() => expect(server.callsTo("POST /api/tab/disable")[0]?.body).toEqual({ version: 7 }));
    await waitFor(() => expect(queryDialog()).not.toBeInTheDocument());
    expect(await screen.findByRole("button", { name: "Enable presence sync" })).toBeInTheDocument();
  });

  it("shows the server's reason when the list cannot be loaded", async () => {
    const server = adminServer().on("GET /api/tab/people", {
      status: 503,
      body: { error: { code: "store_unavailable", message: "The store is not reachable: check STORE_URL" } },
    });
    render(<App services={services(server)} />);
    expect(await screen.findByText("The store is not reachable: check STORE_URL")).toBeInTheDocument();
  });
});
