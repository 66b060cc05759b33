/** Entry point: read the config, find out the host, build the services, render. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ApiClient, loadConfig, type AuthMode } from "./api/client";
import { makeJobWatcher } from "./api/jobs";
import { detectHost } from "./host";

async function start(): Promise<void> {
  const fetcher = window.fetch.bind(window);
  const config = await loadConfig(fetcher);
  const host = await detectHost(config);
  const auth: AuthMode = host.inTeams && host.getToken ? { kind: "bearer", getToken: host.getToken } : { kind: "cookie" };
  const api = new ApiClient(fetcher, auth);
  const watchJob = makeJobWatcher(api, {
    // EventSource cannot send a bearer header, so Teams polls instead.
    eventSource: host.inTeams || typeof EventSource === "undefined" ? null : (url) => new EventSource(url, { withCredentials: true }),
  });
  const root = document.getElementById("root");
  if (!root) throw new Error("index.html has no #root element");
  createRoot(root).render(
    <StrictMode>
      <App services={{ api, host, watchJob }} productName={config.productName} />
    </StrictMode>,
  );
}

void start();
