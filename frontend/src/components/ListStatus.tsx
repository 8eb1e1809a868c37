/** What a list page shows around its list: loading, a load error, or an empty list. */
export function ListStatus({
  loading,
  error,
  items,
  what,
  empty,
  spacing = "mt-2",
}: {
  loading: boolean;
  error: Error | null | undefined;
  items: readonly unknown[] | null | undefined;
  /** e.g. "the jobs": "Could not load the jobs: …" */
  what: string;
  /** e.g. "No jobs yet." */
  empty: string;
  spacing?: string;
}) {
  return (
    <>
      {loading ? (
        <p role="status" className={`${spacing} text-slate-700`}>
          Loading…
        </p>
      ) : null}
      {error ? (
        <p role="alert" className={`${spacing} text-red-900`}>
          Could not load {what}: {error.message}
        </p>
      ) : null}
      {items && items.length === 0 ? <p className={`${spacing} text-slate-800`}>{empty}</p> : null}
    </>
  );
}
