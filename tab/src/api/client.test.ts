import { describe, expect, it, vi } from "vitest";
import { adminSession, error, FakeServer } from "../test/fakeServer";
import { ApiClient, ApiError, NetworkError, readableError } from "./client";

describe("ApiClient", () => {
  it("sends the Teams token as a bearer and no CSRF header", async () => {
    const server = new FakeServer().on("POST /api/tab/sync-all", { status: 202, body: { job: {}, created: true } });
    const api = new ApiClient(server.fetch, { kind: "bearer", getToken: async () => "sso-token" });
    await api.syncAll();
    const [call] = server.calls;
    expect(call.headers.Authorization).toBe("Bearer sso-token");
    expect(call.headers["X-CSRF-Token"]).toBeUndefined();
  });

  it("sends the session's CSRF token on changes in cookie mode, and no bearer", async () => {
    const server = new FakeServer()
      .on("GET /api/tab/session", { body: adminSession })
      .on("POST /api/tab/people/sync", { status: 202, body: { job: {}, created: true } });
    const api = new ApiClient(server.fetch, { kind: "cookie" });
    await api.session();
    await api.syncPeople(["p1"]);
    const post = server.callsTo("POST /api/tab/people/sync")[0];
    expect(post.headers["X-CSRF-Token"]).toBe("csrf-123");
    expect(post.headers.Authorization).toBeUndefined();
    expect(post.body).toEqual({ ids: ["p1"] });
    expect(server.callsTo("GET /api/tab/session")[0].headers["X-CSRF-Token"]).toBeUndefined();
  });

  it("retries once with a fresh token after a 401", async () => {
    const tokens = vi.fn(async (fresh: boolean) => (fresh ? "fresh" : "stale"));
    const server = new FakeServer().on("GET /api/tab/status", (call) =>
      call.headers.Authorization === "Bearer fresh" ? { body: { syncEnabled: true } } : error(401, "unauthenticated", "Token expired"),
    );
    const api = new ApiClient(server.fetch, { kind: "bearer", getToken: tokens });
    await expect(api.status()).resolves.toMatchObject({ syncEnabled: true });
    expect(tokens.mock.calls).toEqual([[false], [true]]);
    expect(server.calls).toHaveLength(2);
  });

  it("gives up after one retry and reports the server's message", async () => {
    const server = new FakeServer().on("GET /api/tab/status", error(401, "unauthenticated", "The token is for another tenant"));
    const api = new ApiClient(server.fetch, { kind: "bearer", getToken: async () => "t" });
    await expect(api.status()).rejects.toMatchObject({ status: 401, message: "The token is for another tenant" });
    expect(server.calls).toHaveLength(2);
  });

  it("does not retry a 401 in cookie mode (the cookie cannot be refreshed)", async () => {
    const server = new FakeServer().on("GET /api/tab/session", error(401, "unauthenticated", "Sign in"));
    const api = new ApiClient(server.fetch, { kind: "cookie" });
    await expect(api.session()).rejects.toBeInstanceOf(ApiError);
    expect(server.calls).toHaveLength(1);
  });

  it("turns error JSON into a readable message naming what to fix", async () => {
    const server = new FakeServer().on(
      "POST /api/tab/people/sync",
      error(400, "invalid_request", "ids: unknown people p9, p10"),
    );
    const api = new ApiClient(server.fetch, { kind: "cookie" });
    const err = await api.syncPeople(["p9", "p10"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("invalid_request");
    expect(readableError(err)).toBe("ids: unknown people p9, p10");
  });

  it("explains an error without JSON by its status", async () => {
    const api = new ApiClient(async () => new Response("<html>Bad gateway</html>", { status: 502 }), { kind: "cookie" });
    await expect(api.status()).rejects.toThrow("RingCentral or Microsoft did not answer as expected (HTTP 502).");
  });

  it("says the server cannot be reached when fetch itself fails", async () => {
    const api = new ApiClient(async () => {
      throw new TypeError("Failed to fetch");
    }, { kind: "cookie" });
    const err = await api.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(readableError(err)).toMatch(/Could not reach the Presence Sync server/);
  });

  it("keeps the conflicting version of a 409", async () => {
    const server = new FakeServer().on("PUT /api/tab/rules", error(409, "conflict", "Changed by bob", { current: { version: 8 } }));
    const api = new ApiClient(server.fetch, { kind: "cookie" });
    const err = (await api.saveRules({ version: 7 }).catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(409);
    expect(err.current).toEqual({ version: 8 });
  });

  it("builds the people query and escapes path parts", async () => {
    const server = new FakeServer()
      .on("GET /api/tab/people", { body: { people: [], nextCursor: null } })
      .on("DELETE /api/tab/sync-accounts/sync%2B1%40contoso.example", { status: 204 });
    const api = new ApiClient(server.fetch, { kind: "cookie" });
    await api.people({ filter: "unmatched", search: "ann", cursor: "c2" });
    expect(Object.fromEntries(server.calls[0].query)).toEqual({ filter: "unmatched", search: "ann", cursor: "c2", limit: "50" });
    await expect(api.removeSyncAccount("sync+1@contoso.example")).resolves.toBeUndefined();
  });
});
