import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { App } from "../App";
import { adminServer, FakeEventSource, fakeHost, job, services } from "../test/fakeServer";

beforeEach(() => {
  window.history.pushState(null, "", "/tab/people");
  FakeEventSource.last = null;
});

async function startJob(server = adminServer()) {
  server.on("POST /api/tab/people/sync", { status: 202, body: { job: job({ status: "queued" }), created: true } });
  render(<App services={services(server)} />);
  await userEvent.click(await screen.findByRole("button", { name: "Sync User 1" }));
  return server;
}

describe("job progress", () => {
  it("moves the progress bar on each progress event, then shows the report and refreshes the list", async () => {
    const server = await startJob();
    const progress = await screen.findByTestId("job-progress");
    await waitFor(() => expect(FakeEventSource.last?.url).toBe("/api/tab/jobs/job-1/events"));
    const source = FakeEventSource.last!;
    act(() => source.emit("progress", job({ processed: 3 })));
    expect(within(progress).getByText("3 of 10")).toBeInTheDocument();
    expect(within(progress).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "0.3");
    act(() => source.emit("progress", job({ processed: 7 })));
    expect(within(progress).getByText("7 of 10")).toBeInTheDocument();

    const listCalls = server.callsTo("GET /api/tab/people").length;
    act(() =>
      source.emit(
        "done",
        job({
          status: "done",
          processed: 10,
          synced: 7,
          already: 1,
          failed: 1,
          unmatched: 1,
          failures: [
            { user: "bob@contoso.example", reason: "RingCentral answered 400: not a call queue member" },
            { user: "eve@contoso.example", reason: "no RingCentral user with this email" },
          ],
          finishedAt: 1764000100,
        }),
      ),
    );
    const report = await screen.findByTestId("job-report");
    expect(screen.queryByTestId("job-progress")).not.toBeInTheDocument();
    expect(within(report).getByText(/7 synced, 1 already in that state, 1 failed, 1\s+unmatched/)).toBeInTheDocument();
    expect(within(report).getByText("RingCentral answered 400: not a call queue member")).toBeInTheDocument();
    expect(within(report).getByText("no RingCentral user with this email")).toBeInTheDocument();
    expect(source.closed).toBe(true);
    await waitFor(() => expect(server.callsTo("GET /api/tab/people").length).toBeGreaterThan(listCalls));
  });

  it("retries the failed people from the report", async () => {
    const server = await startJob();
    server.on("POST /api/tab/jobs/job-1/retry-failed", { status: 202, body: { job: job({ id: "job-2", total: 1 }), created: true } });
    await waitFor(() => expect(FakeEventSource.last).not.toBeNull());
    act(() => FakeEventSource.last!.emit("done", job({ status: "done", processed: 10, failed: 1, failures: [{ user: "bob@contoso.example", reason: "timeout" }] })));
    await userEvent.click(await screen.findByRole("button", { name: "Retry failed" }));
    await waitFor(() => expect(server.callsTo("POST /api/tab/jobs/job-1/retry-failed")).toHaveLength(1));
    expect(await screen.findByTestId("job-progress")).toBeInTheDocument();
    await waitFor(() => expect(FakeEventSource.last?.url).toBe("/api/tab/jobs/job-2/events"));
  });

  it("polls the job in Teams, where the event stream cannot carry the bearer", async () => {
    let polls = 0;
    const server = adminServer()
      .on("POST /api/tab/people/sync", { status: 202, body: { job: job(), created: true } })
      .on("GET /api/tab/jobs/job-1", () => {
        polls += 1;
        return { body: polls < 15 ? job({ processed: Math.min(polls * 4, 8) }) : job({ status: "done", processed: 10, synced: 10 }) };
      });
    const svc = services(server, {
      auth: { kind: "bearer", getToken: async () => "sso" },
      host: fakeHost({ inTeams: true }),
      eventSource: FakeEventSource.factory,
    });
    render(<App services={svc} />);
    await userEvent.click(await screen.findByRole("button", { name: "Sync User 1" }));
    expect(await screen.findByText("8 of 10")).toBeInTheDocument();
    expect(await screen.findByTestId("job-report")).toHaveTextContent("10 synced");
    expect(FakeEventSource.last).toBeNull();
    expect(server.callsTo("GET /api/tab/jobs/job-1")[0].headers.Authorization).toBe("Bearer sso");
  });

  it("falls back to polling when the event stream breaks", async () => {
    const server = await startJob();
    server.on("GET /api/tab/jobs/job-1", { body: job({ status: "done", processed: 10, synced: 10 }) });
    await waitFor(() => expect(FakeEventSource.last).not.toBeNull());
    act(() => FakeEventSource.last!.emit("error"));
    expect(await screen.findByTestId("job-report")).toHaveTextContent("10 synced");
    expect(FakeEventSource.last!.closed).toBe(true);
  });
});
