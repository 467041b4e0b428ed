// Readiness probes (httpGet, tcpSocket), run against the pod's own loopback address as the kubelet runs
// them against the pod IP: a container with a readiness probe is ready only once the probe passes, and
// stops being ready after failureThreshold failures in a row, so Service names (the agent's DNS records)
// and EndpointSlices follow what the process actually answers. Checked every periodSeconds, at most 1 s
// here (the kubelet's default is 10 s), after initialDelaySeconds. exec probes are not run (a container
// with only an exec probe is ready while it runs); liveness and startup probes are not run.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface Prober {
  stop(): void;
}

function portOf(probePort: number | string | undefined, spec: V1Container): number | undefined {
  if (typeof probePort === 'number') return probePort;
  if (probePort === undefined) return undefined;
  if (/^\d+$/.test(probePort)) return Number(probePort);
  return spec.ports?.find((p) => p.name === probePort)?.containerPort;
}

function once(probe: V1Probe, spec: V1Container, host: string): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const port = portOf(probe.httpGet.port as number | string, spec);
    if (port === undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const req = request(
        {
          host,
          port,
          path: probe.httpGet!.path ?? '/',
          method: 'GET',
          timeout: timeoutMs,
          headers: { 'user-agent': 'kube-probe/kiln-agent' },
        },
        (res) => {
          res.resume();
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  }
  if (probe.tcpSocket) {
    const port = portOf(probe.tcpSocket.port as number | string, spec);
    if (port === undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const socket = connect({ host, port, timeout: timeoutMs });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
  }
  return Promise.resolve(true);
}

/** Whether the agent runs this container's readiness probe (else it is ready while it runs). */
export function hasReadinessProbe(spec: V1Container): boolean {
  return spec.readinessProbe?.httpGet !== undefined || spec.readinessProbe?.tcpSocket !== undefined;
}

/** Probes until stopped; `onChange(ready)` on every change of the result. */
export function startReadinessProbe(
  spec: V1Container,
  host: string,
  onChange: (ready: boolean) => void,
): Prober {
  const probe = spec.readinessProbe!;
  const periodMs = Math.min(probe.periodSeconds ?? 10, 1) * 1000;
  const failureThreshold = probe.failureThreshold ?? 3;
  let ready = false;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    const ok = await once(probe, spec, host);
    if (stopped) return;
    if (ok) {
      failures = 0;
      if (!ready) {
        ready = true;
        onChange(true);
      }
    } else if (++failures >= failureThreshold && ready) {
      ready = false;
      onChange(false);
    }
    timer = setTimeout(tick, periodMs);
    timer.unref();
  };
  timer = setTimeout(tick, (probe.initialDelaySeconds ?? 0) * 1000);
  timer.unref();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
