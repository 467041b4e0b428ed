// Where the dashboard's server finds the API. Read on the server only; the browser talks to /api/kiln/*.
export function apiUrl(): string {
  const url = process.env.KILN_API_URL ?? 'http://127.0.0.1:8080';
  return url.replace(/\/+$/, '');
}

/** The session cookie: the project token itself, httpOnly so page scripts can never read it. */
export const SESSION_COOKIE = 'kiln_session';
