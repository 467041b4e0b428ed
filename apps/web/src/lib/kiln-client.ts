// The browser's writes to the API, through the dashboard's /api/kiln proxy (the session cookie carries the
// token there): one place that sends a JSON body, reads the answer (an empty object when it is not JSON)
// and words a failure that has no message of its own.

export interface KilnAnswer {
  ok: boolean;
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: callers read the API's documented JSON answers.
  body: any;
}

/** Calls `/api/kiln<path>` with `method`, and `json` as the body when given. */
export async function callKiln(path: string, method: string, json?: unknown): Promise<KilnAnswer> {
  const res = await fetch(`/api/kiln${path}`, {
    method,
    ...(json !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
    }),
  });
  const body = await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, body };
}

/** What to show for a failed answer: the API's message, else its status. */
export const failureMessage = (a: KilnAnswer): string => a.body?.message ?? `the API answered ${a.status}`;
