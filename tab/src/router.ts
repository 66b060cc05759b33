/** Pages routed by path under the app's base (`/tab/`), with the history API so reload works. */
import { useCallback, useSyncExternalStore } from "react";

export type PageName = "overview" | "people" | "rules" | "activity";

export const PAGES: { name: PageName; label: string; path: string }[] = [
  { name: "overview", label: "Overview", path: "" },
  { name: "people", label: "People", path: "people" },
  { name: "rules", label: "Call presence rules", path: "rules" },
  { name: "activity", label: "Activity", path: "activity" },
];

/** Where the server serves the tab (the same as Vite's `base`). */
const BASE = "/tab/";

function base(): string {
  return BASE;
}

/** The page a location names; anything unknown is the overview. */
export function pageFromLocation(location: Pick<Location, "pathname" | "hash">): PageName {
  const root = base();
  let rest = location.pathname.startsWith(root) ? location.pathname.slice(root.length) : location.pathname.replace(/^\//, "");
  if (!rest && location.hash.startsWith("#/")) rest = location.hash.slice(2);
  const first = rest.split("/")[0];
  return PAGES.find((p) => p.path === first && p.path !== "")?.name ?? "overview";
}

export function pathOf(page: PageName): string {
  return base() + (PAGES.find((p) => p.name === page)?.path ?? "");
}

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

/** Moves to a page without reloading. */
export function navigate(page: PageName): void {
  const path = pathOf(page);
  if (window.location.pathname !== path) window.history.pushState(null, "", path + window.location.search);
  listeners.forEach((l) => l());
}

/** The current page and a way to change it. */
export function usePage(): [PageName, (page: PageName) => void] {
  const page = useSyncExternalStore(subscribe, () => pageFromLocation(window.location));
  const go = useCallback((next: PageName) => navigate(next), []);
  return [page, go];
}
