/** Loads something once (and again on `reload`), keeping loading / error / data apart. */
import { useCallback, useEffect, useRef, useState } from "react";
import { readableError } from "../api/client";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload(): void;
  set(data: T): void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const serial = useRef(0);

  // The caller names what `load` reads, as it would for useEffect: a new `load` closure on
  // every render must not reload by itself.
  const run = useCallback(load, deps);
  const reload = useCallback(() => {
    const mine = ++serial.current;
    setLoading(true);
    run().then(
      (value) => {
        if (mine !== serial.current) return; // an older answer arriving late must not win
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err) => {
        if (mine !== serial.current) return;
        setError(readableError(err));
        setLoading(false);
      },
    );
  }, [run]);

  useEffect(reload, [reload]);
  return { data, error, loading, reload, set: setData };
}
