import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { App } from "../App";
import type { RingCentralIdentity } from "../api/types";
import { findDialog } from "../test/dialogs";
import { adminServer, error, services, status } from "../test/fakeServer";

beforeEach(() => window.history.pushState(null, "", "/tab/"));

function identity(n: number, overrides: Partial<RingCentralIdentity> = {}): RingCentralIdentity {
  return {
    extensionId: `20${n}`,
    extensionNumber: `${200 + n}`,
    name: `Writer ${n}`,
    email: `writer${n}@contoso.example`,
    mode: "jwt",
    state: "connected",
    reason: null,
    since: 1764000000,
    fix: null,
    ...overrides,
  };
}

describe("Overview: RingCentral write capacity", () => {
  it("shows the capacity in use, the backlog, the waits and what to do when they are too long", async () => {
    const advice = "RingCentral writes waited 9 min (95th percentile, last hour), above the 60 s target. Add a RingCentral identity.";
    const server = adminServer().on("GET /api/tab/status", {
      body: status({
        writeBudget: {
          used: 40,
          limit: 40,
          windowSeconds: 60,
          queued: 0,
          identities: 1,
          backlog: 480,
          expectedDelaySeconds: 720,
          p95DelaySeconds: 540,
          advice,
        },
      }),
    });
    render(<App services={services(server)} />);
    const section = await screen.findByRole("region", { name: "RingCentral write capacity" });
    expect(within(section).getByText("40 of 40 writes a minute")).toBeInTheDocument();
    expect(within(section).getByText("480 people")).toBeInTheDocument();
    expect(within(section).getByText("about 12 min")).toBeInTheDocument();
    expect(within(section).getByText("waited 9 min or less")).toBeInTheDocument();
    expect(within(section).getByText(advice)).toBeInTheDocument();
  });

  it("adds an identity by its JWT credential and lists it", async () => {
    let identities: RingCentralIdentity[] = [];
    const server = adminServer()
      .on("GET /api/tab/status", () => ({ body: status({ ringcentralIdentities: identities }) }))
      .on("POST /api/tab/ringcentral/identities", () => {
        identities = [identity(1)];
        return { status: 201, body: identity(1) };
      });
    render(<App services={services(server)} />);
    const section = await screen.findByRole("region", { name: "RingCentral identities" });
    expect(within(section).getByText("Only the main RingCentral connection writes presence.")).toBeInTheDocument();
    const add = within(section).getByRole("button", { name: "Add identity" });
    expect(add).toBeDisabled();
    await userEvent.type(within(section).getByLabelText(/JWT credential of another RingCentral user/), "  eyJ.credential  ");
    await userEvent.click(add);
    await within(section).findByText("writer1@contoso.example now carries presence writes too.");
    expect(server.callsTo("POST /api/tab/ringcentral/identities")[0].body).toEqual({ jwt: "eyJ.credential" });
    const list = await within(section).findByRole("list", { name: "RingCentral identities" });
    expect(within(list).getByText("writer1@contoso.example")).toBeInTheDocument();
    // The credential is not left in the field.
    expect(within(section).getByLabelText(/JWT credential of another RingCentral user/)).toHaveValue("");
  });

  it("says why RingCentral refused an identity and keeps what was typed", async () => {
    const refusal = "RingCentral refused presence writes by writer2@contoso.example: the user needs an admin role with the Edit Presence permission.";
    const server = adminServer().on("POST /api/tab/ringcentral/identities", error(422, "identity_refused", refusal));
    render(<App services={services(server)} />);
    const section = await screen.findByRole("region", { name: "RingCentral identities" });
    await userEvent.type(within(section).getByLabelText(/JWT credential of another RingCentral user/), "eyJ.other");
    await userEvent.click(within(section).getByRole("button", { name: "Add identity" }));
    expect(await within(section).findByText(refusal)).toBeInTheDocument();
    expect(within(section).getByLabelText(/JWT credential of another RingCentral user/)).toHaveValue("eyJ.other");
  });

  it("removes an identity after confirming, and shows a broken one with its reason", async () => {
    let identities = [identity(1), identity(2, { state: "broken", reason: "RingCentral refused the stored sign-in." })];
    const server = adminServer()
      .on("GET /api/tab/status", () => ({ body: status({ ringcentralIdentities: identities }) }))
      .on("DELETE /api/tab/ringcentral/identities/201", () => {
        identities = identities.slice(1);
        return { status: 204 };
      });
    render(<App services={services(server)} />);
    const list = await screen.findByRole("list", { name: "RingCentral identities" });
    expect(within(list).getByText("RingCentral refused the stored sign-in.")).toBeInTheDocument();
    await userEvent.click(within(list).getByRole("button", { name: "Remove RingCentral identity writer1@contoso.example" }));
    const dialog = await findDialog();
    await userEvent.click(within(dialog).getByRole("button", { name: "Remove" }));
    await waitFor(() => expect(server.callsTo("DELETE /api/tab/ringcentral/identities/201")).toHaveLength(1));
    await waitFor(() => expect(screen.queryByText("writer1@contoso.example")).not.toBeInTheDocument());
  });
});
