// Kubernetes API errors by HTTP status. @kubernetes/client-node throws an ApiException carrying the status
// as `code`; other clients (and hand-made errors in tests) carry it as `statusCode`.

/** HTTP status of a failed API call, or undefined for any other error (a refused connection, a bug). */
export function statusCode(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

/** 404: the object (or its namespace) does not exist. */
export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
/** 409: AlreadyExists on create, or a resourceVersion precondition that failed on update. */
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;
/** 403: RBAC does not allow the call. */
export const isForbidden = (err: unknown): boolean => statusCode(err) === 403;
