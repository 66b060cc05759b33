import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// jsdom has no layout: Fluent's MessageBar measures itself with ResizeObserver.
class NoResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;

// Role queries over Fluent's DOM are slow in jsdom on a small machine; give them room.
configure({ asyncUtilTimeout: 4000 });

afterEach(() => cleanup());
