/** Follows a running job: server-sent events in a browser, polling where a bearer is needed. */
import type { ApiClient } from "./client";
import { readableError } from "./client";
import type { Job } from "./types";

export interface JobHandlers {
  onUpdate(job: Job): void;
  onDone(job: Job): void;
  onError(message: string): void;
}

/** The part of EventSource this module uses, so tests can hand in a fake one. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}
export type EventSourceFactory = (url: string) => EventSourceLike;

export interface WatchOptions {
  /** Builds the event stream; absent means poll (in Teams the stream cannot carry the bearer). */
  eventSource?: EventSourceFactory | null;
  /** How often to poll; the issue asks for at least once a second. */
  intervalMs?: number;
}

/** Starts following job `id`; returns a function that stops it. */
export type JobWatcher = (id: string, handlers: JobHandlers) => () => void;

export function isFinished(job: Job): boolean {
  return job.status === "done" || job.status === "failed" || job.status === "cancelled";
}

/** Builds a watcher that prefers the event stream and falls back to polling when it fails. */
export function makeJobWatcher(api: ApiClient, options: WatchOptions = {}): JobWatcher {
  const intervalMs = options.intervalMs ?? 700;
  return (id, handlers) => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let source: EventSourceLike | null = null;

    const finish = (job: Job) => {
      if (stopped) return;
      stop();
      handlers.onDone(job);
    };

    const poll = async () => {
      if (stopped) return;
      try {
        const job = await api.job(id);
        if (stopped) return;
        if (isFinished(job)) return finish(job);
        handlers.onUpdate(job);
      } catch (err) {
        if (stopped) return;
        handlers.onError(readableError(err));
      }
      if (!stopped) timer = setTimeout(poll, intervalMs);
    };

    const startPolling = () => {
      if (!stopped) timer = setTimeout(poll, 0);
    };

    const parse = (event: MessageEvent): Job | null => {
      try {
        return JSON.parse(String(event.data)) as Job;
      } catch {
        return null;
      }
    };

    const stop = () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      source?.close();
      source = null;
    };

    if (options.eventSource && api.mode === "cookie") {
      try {
        source = options.eventSource(api.jobEventsUrl(id));
        source.addEventListener("progress", (event) => {
          const job = parse(event);
          if (job && !stopped) handlers.onUpdate(job);
        });
        source.addEventListener("done", (event) => {
          const job = parse(event);
          if (job) finish(job);
        });
        source.addEventListener("error", () => {
          // The stream broke before "done" (a proxy, a restart): keep the bar moving by polling.
          if (stopped) return;
          source?.close();
          source = null;
          startPolling();
        });
      } catch {
        source = null;
        startPolling();
      }
    } else {
      startPolling();
    }
    return stop;
  };
}
