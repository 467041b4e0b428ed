// Expectations: children this process created that its caches may not show yet (the pattern of
// Kubernetes' controller expectations). A pass reading a cache that lags its own creates must not
// create the same pod or Service again; an expectation lapses after a while, in case the create was lost.

/** How long a created object may take to show up in the cache before it is created again. */
export const CREATE_EXPECTATION_MS = 10_000;

export class Expectations {
  /** `<job key>#<pod name>` → when created */
  private readonly pods = new Map<string, number>();
  /** job key → the job uid it was created for, and when */
  private readonly services = new Map<string, { uid: string; time: number }>();

  constructor(private readonly ttlMs = CREATE_EXPECTATION_MS) {}

  /** Whether the pod was created recently enough that the cache may just not show it yet. */
  podPending(jobKey: string, podName: string, now: number): boolean {
    const at = this.pods.get(`${jobKey}#${podName}`);
    return at !== undefined && now - at <= this.ttlMs;
  }

  podCreated(jobKey: string, podName: string, now: number): void {
    this.pods.set(`${jobKey}#${podName}`, now);
  }

  /** Drops lapsed pod expectations. */
  expire(now: number): void {
    for (const [k, at] of this.pods) if (now - at > this.ttlMs) this.pods.delete(k);
  }

  /** A new phase is a new launch (or none): pods created for the previous one are no longer expected. */
  forgetPods(jobKey: string): void {
    for (const id of this.pods.keys()) if (id.startsWith(`${jobKey}#`)) this.pods.delete(id);
  }

  servicePending(jobKey: string, uid: string | undefined, now: number): boolean {
    const at = this.services.get(jobKey);
    return !!at && at.uid === uid && now - at.time < this.ttlMs;
  }

  serviceCreated(jobKey: string, uid: string, now: number): void {
    this.services.set(jobKey, { uid, time: now });
  }

  /** The cache shows the Service (or the job is gone): nothing left to expect. */
  serviceSeen(jobKey: string): void {
    this.services.delete(jobKey);
  }

  forgetJob(jobKey: string): void {
    this.forgetPods(jobKey);
    this.services.delete(jobKey);
  }
}
