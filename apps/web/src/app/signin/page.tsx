// Sign in with a project token. The form posts to /auth/signin, which keeps the token in an httpOnly
// cookie; the token never lives in page scripts.
export default async function SignIn({
  searchParams,
}: {
  searchParams: Promise<{ error?: string; next?: string; expired?: string }>;
}) {
  const q = await searchParams;
  return (
    <main style={{ maxWidth: 480, margin: '64px auto' }}>
      <h1>Sign in to Kiln</h1>
      <p className="muted">
        Paste a project token (<code>read</code> or <code>write</code>). Admin tokens are refused.
      </p>
      {q.expired && <p className="error">Your session expired or its token was revoked.</p>}
      <form method="post" action="/auth/signin" className="panel">
        <label htmlFor="token">Project token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          style={{ width: '100%' }}
          aria-invalid={q.error ? true : undefined}
          aria-describedby={q.error ? 'token-error' : undefined}
        />
        {q.error && (
          <span id="token-error" role="alert" className="field-error">
            {q.error}
          </span>
        )}
        <input type="hidden" name="next" value={q.next ?? ''} />
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
    </main>
  );
}
