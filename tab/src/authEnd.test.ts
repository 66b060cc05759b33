import { describe, expect, it, vi } from "vitest";
import { deliverOutcome, readOutcome, type AuthEndDeps } from "./authEnd";

function fakeWindow(options: { framed?: boolean; opener?: { postMessage: ReturnType<typeof vi.fn> } | null }): Window {
  const win = { location: { origin: "https://product.test" }, opener: options.opener ?? null } as unknown as Window & { parent: Window };
  (win as { parent: unknown }).parent = options.framed ? {} : win;
  return win;
}

function deps(win: Window, inTeams: boolean) {
  const d = {
    win,
    initialize: inTeams ? async () => undefined : async () => Promise.reject(new Error("not in Teams")),
    notifySuccess: vi.fn<(result: string) => void>(),
    notifyFailure: vi.fn<(reason: string) => void>(),
  };
  return d satisfies AuthEndDeps;
}

describe("auth-end", () => {
  it("reads the outcome from the result page's body", () => {
    document.body.dataset.outcome = "fail";
    document.body.dataset.title = "Consent refused";
    document.body.dataset.message = "Sign in as a global admin";
    expect(readOutcome(document.body)).toEqual({ ok: false, title: "Consent refused", message: "Sign in as a global admin" });
  });

  it("tells Teams about success with the outcome as JSON", async () => {
    const d = deps(fakeWindow({ opener: { postMessage: vi.fn() } }), true);
    await expect(deliverOutcome({ ok: true, title: "Connected", message: "All set" }, d)).resolves.toBe("teams");
    expect(JSON.parse(d.notifySuccess.mock.calls[0][0])).toEqual({ ok: true, title: "Connected", message: "All set" });
  });

  it("tells Teams about failure as 'title: message'", async () => {
    const d = deps(fakeWindow({ framed: true }), true);
    await deliverOutcome({ ok: false, title: "Consent refused", message: "Sign in as a global admin" }, d);
    expect(d.notifyFailure).toHaveBeenCalledWith("Consent refused: Sign in as a global admin");
  });

  it("posts the outcome to the opening tab, to its own origin only, outside Teams", async () => {
    const opener = { postMessage: vi.fn() };
    const d = deps(fakeWindow({ opener }), false);
    await expect(deliverOutcome({ ok: true, title: "Done", message: "" }, d)).resolves.toBe("opener");
    expect(opener.postMessage).toHaveBeenCalledWith({ type: "presence-sync-step", ok: true, title: "Done", message: "" }, "https://product.test");
    expect(d.notifySuccess).not.toHaveBeenCalled();
  });

  it("does nothing on a page opened directly", async () => {
    const d = deps(fakeWindow({}), true);
    await expect(deliverOutcome({ ok: true, title: "", message: "" }, d)).resolves.toBe("none");
    expect(d.notifySuccess).not.toHaveBeenCalled();
  });
});
