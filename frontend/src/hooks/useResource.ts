import { useCallback, useEffect, useState } from "react";

export interface Resource<T> {
  data: T | undefined;
  error: Error | null;
  /** True until the first answer for the current `load` arrives. */
  loading: boolean;
  reload: () => void;
}

interface Result<T> {
  load: (signal: AbortSignal) => Promise<T>;
  data?: T;
  error: Error | null;
}

/**
 * Load data for a page. `load` must be stable (wrap it in useCallback); a new `load` means
 * new data. With `pollMs` it is fetched again every so often (live status lists).
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, pollMs?: number): Resource<T> {
  const [result, setResult] = useState<Result<T> | null>(null);
  const [nonce, setNonce] = useState(0);

  useEffect(() => {
    const ac = new AbortController();
    const run = () => {
      load(ac.signal).then(
        (data) => {
          if (!ac.signal.aborted) setResult({ load, data, error: null });
        },
        (err: unknown) => {
          if (ac.signal.aborted) return;
          const error = err instanceof Error ? err : new Error(String(err));
          setResult((prev) => ({ load, ...(prev?.load === load && prev.data !== undefined ? { data: prev.data } : {}), error }));
        },
      );
    };
    run();
    const timer = pollMs ? setInterval(run, pollMs) : undefined;
    return () => {
      ac.abort();
      if (timer) clearInterval(timer);
    };
  }, [load, pollMs, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const current = result?.load === load ? result : null;
  return { data: current?.data, error: current?.error ?? null, loading: current === null, reload };
}
