// Per-pod loopback addresses. Linux routes all of 127.0.0.0/8 to `lo`, so any 127.a.b.c can be bound
// with no setup. Each cluster draws its own second octet, so clusters started side by side (one per test
// file) never hand out the same address; the third octet is the node's index, the fourth the pod's.
export class LoopbackPool {
  private readonly used = new Set<string>();
  private readonly next = new Map<number, number>();

  constructor(readonly clusterOctet: number) {
    if (!Number.isInteger(clusterOctet) || clusterOctet < 1 || clusterOctet > 254) {
      throw new Error(`clusterOctet: expected an integer in 1..254, got ${clusterOctet}`);
    }
  }

  static random(): LoopbackPool {
    return new LoopbackPool(1 + Math.floor(Math.random() * 254));
  }

  allocate(nodeIndex: number): string {
    const third = ((nodeIndex - 1) % 254) + 1;
    let host = this.next.get(third) ?? 1;
    for (let tries = 0; tries < 254; tries++) {
      const ip = `127.${this.clusterOctet}.${third}.${host}`;
      host = (host % 254) + 1;
      if (!this.used.has(ip)) {
        this.used.add(ip);
        this.next.set(third, host);
        return ip;
      }
    }
    throw new Error(`no free pod address left for node index ${nodeIndex} (254 pods at once)`);
  }

  release(ip: string): void {
    this.used.delete(ip);
  }
}
