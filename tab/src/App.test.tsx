import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { App } from "./App";
import type { ThemeName } from "./host";
import { adminServer, adminSession, error, fakeHost, FakeServer, services, status } from "./test/fakeServer";
import { findDialog } from "./test/dialogs";

beforeEach(() => window.history.pushState(null, "", "/tab/"));

describe("app shell", () => {
  it("offers Microsoft sign-in outside Teams when there is no session, returning to the same page", async () => {
    window.history.pushState(null, "", "/tab/people");
    const server = new FakeServer().on("GET /api/tab/session", error(401, "unauthenticated", "Sign in first"));
    const visited: string[] = [];
    render(<App services={services(server, { host: fakeHost({ goTo: (url) => void visited.push(url) }) })} />);
    await userEvent.click(await screen.findByRole("button", { name: "Sign in with Microsoft" }));
    expect(visited).toEqual(["/tab/auth/login?return=%2Ftab%2Fpeople"]);
  });

  it("refuses a signed-in person who is not an admin, with the server's reason", async () => {
    const server = new FakeServer().on("GET /api/tab/session", {
      body: { ...adminSession, admin: false, reason: "bob@contoso.example is not a Presence Sync admin: ask an admin to add you" },
    });
    render(<App services={services(server)} />);
    expect(await screen.findByRole("heading", { level: 1, name: "You can't manage Presence Sync" })).toBeInTheDocument();
    expect(screen.getByText(/is not a Presence Sync admin: ask an admin to add you/)).toBeInTheDocument();
    expect(screen.queryByRole("tablist")).not.toBeInTheDocument();
  });

  it("signs out with the CSRF token and shows the sign-in screen", async () => {
    const server = adminServer().on("POST /tab/auth/logout", { status: 204 });
    render(<App services={services(server)} />);
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("button", { name: "Sign in with Microsoft" })).toBeInTheDocument();
    expect(server.callsTo("POST /tab/auth/logout")[0].headers["X-CSRF-Token"]).toBe("csrf-123");
  });

  it("in Teams shows no sign-out and reports a failed SSO instead of a sign-in button", async () => {
    const server = new FakeServer().on("GET /api/tab/session", error(401, "unauthenticated", "The Teams token was not accepted: check the app's client id"));
    render(<App services={services(server, { auth: { kind: "bearer", getToken: async () => "t" }, host: fakeHost({ inTeams: true }) })} />);
    expect(await screen.findByText("The Teams token was not accepted: check the app's client id")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Sign in with Microsoft" })).not.toBeInTheDocument();
  });

  it("follows the Teams theme and its changes", async () => {
    let change: ((theme: ThemeName) => void) | undefined;
    const host = fakeHost({ inTeams: true, theme: "dark", onThemeChange: (handler) => void (change = handler) });
    render(<App services={services(adminServer(), { auth: { kind: "bearer", getToken: async () => "t" }, host })} />);
    await screen.findByRole("heading", { level: 1, name: "Overview" });
    expect(document.documentElement.dataset.theme).toBe("dark");
    act(() => change?.("contrast"));
    expect(document.documentElement.dataset.theme).toBe("contrast");
    act(() => change?.("default"));
    expect(document.documentElement.dataset.theme).toBe("default");
    expect(screen.queryByRole("button", { name: "Sign out" })).not.toBeInTheDocument();
  });

  it("moves between pages with the tab list and the address follows", async () => {
    render(<App services={services(adminServer())} />);
    await screen.findByRole("heading", { level: 1, name: "Overview" });
    await userEvent.click(screen.getByRole("tab", { name: "Activity" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Activity" })).toBeInTheDocument();
    expect(window.location.pathname).toBe("/tab/activity");
    expect(await screen.findByText("No presence has been written yet.")).toBeInTheDocument();
    act(() => window.history.back());
    expect(await screen.findByRole("heading", { level: 1, name: "Overview" })).toBeInTheDocument();
  });
});

describe("overview", () => {
  it("shows each connection, the coverage and the write budget", async () => {
    render(<App services={services(adminServer())} />);
    expect(await screen.findByText("sync1@contoso.example")).toBeInTheDocument();
    expect(screen.getByText("covers 120 people")).toBeInTheDocument();
    expect(screen.getByText("400 people")).toBeInTheDocument();
    expect(screen.getByText("every 30 s")).toBeInTheDocument();
    expect(screen.getByText("12 of 40 writes a minute")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Connect with JWT" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in with RingCentral" })).toBeInTheDocument();
  });

  it("puts each warning in plain words with the button for its fix, which opens the step", async () => {
    const opened: string[] = [];
    const server = adminServer()
      .on("GET /api/tab/status", {
        body: status({
          microsoft: { ...status().microsoft, state: "broken", reason: "The refresh token was revoked" },
          warnings: [{ text: "The Microsoft connection stopped working at 09:12 — re-authorise", action: "consent" }],
        }),
      })
      .on("POST /api/tab/steps", { body: { url: "https://product.test/connect/microsoft/consent?start=abc" } });
    const host = fakeHost({
      async openStep(step, getUrl) {
        opened.push(`${step} ${await getUrl()}`);
        return { ok: true, title: "Consent granted", message: "Presence Sync can read presence now." };
      },
    });
    render(<App services={services(server, { host })} />);
    expect(await screen.findByText("The Microsoft connection stopped working at 09:12 — re-authorise")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Re-authorise Microsoft" }));
    expect(await screen.findByText("Consent granted")).toBeInTheDocument();
    expect(opened).toEqual(["consent https://product.test/connect/microsoft/consent?start=abc"]);
    expect(server.callsTo("POST /api/tab/steps")[0].body).toEqual({ step: "consent" });
    await waitFor(() => expect(server.callsTo("GET /api/tab/status").length).toBeGreaterThanOrEqual(2));
  });

  it("authorises another sync account with the email as login hint, and removes one after confirmation", async () => {
    const server = adminServer()
      .on("POST /api/tab/steps", { body: { url: "https://product.test/connect/sync?start=1" } })
      .on("DELETE /api/tab/sync-accounts/sync1%40contoso.example", { status: 204 });
    render(<App services={services(server)} />);
    await userEvent.type(await screen.findByRole("textbox", { name: /Sync account email/ }), "sync2@contoso.example");
    await userEvent.click(screen.getByRole("button", { name: "Authorise another sync account" }));
    await waitFor(() => expect(server.callsTo("POST /api/tab/steps")[0]?.body).toEqual({ step: "sync-account", loginHint: "sync2@contoso.example" }));

    await userEvent.click(screen.getByRole("button", { name: "Remove sync account sync1@contoso.example" }));
    const dialog = await findDialog();
    expect(server.callsTo("DELETE /api/tab/sync-accounts/sync1%40contoso.example")).toHaveLength(0);
    await userEvent.click(within(dialog).getByRole("button", { name: "Remove", hidden: true }));
    await waitFor(() => expect(server.callsTo("DELETE /api/tab/sync-accounts/sync1%40contoso.example")).toHaveLength(1));
  });

  it("shows what is wrong when RingCentral JWT connect fails", async () => {
    const server = adminServer().on(
      "POST /api/tab/ringcentral/connect",
      error(502, "provider_error", "RingCentral refused the JWT: set RINGCENTRAL_JWT to a valid token"),
    );
    render(<App services={services(server)} />);
    await userEvent.click(await screen.findByRole("button", { name: "Connect with JWT" }));
    expect(await screen.findByText("RingCentral refused the JWT: set RINGCENTRAL_JWT to a valid token")).toBeInTheDocument();
  });
});
