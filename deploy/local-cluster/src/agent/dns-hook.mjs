// Loaded into every Node process the node agent starts (NODE_OPTIONS=--import <this file>). It gives
// pods what cluster DNS and a pod network namespace give them on a real cluster:
//  - names in the agent's hosts file (KILN_HOSTS_FILE) resolve through dns.lookup, which is what
//    net.connect, http and fetch use, with the pod's search path (<ns>.svc.cluster.local, ...);
//  - a server that listens on every interface (no host, 0.0.0.0 or ::) listens on the pod's own
//    loopback address (KILN_POD_IP) instead, so two pods can use the same port.
// Plain JavaScript: it must load without any TypeScript loader.
import dns from 'node:dns';
import { readFileSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const hostsFile = process.env.KILN_HOSTS_FILE;
const namespace = process.env.KILN_POD_NAMESPACE || 'default';
const podIP = process.env.KILN_POD_IP;
const search = [`${namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];

let loaded = { mtimeMs: -1, size: -1, table: new Map() };

function table() {
  if (!hostsFile) return loaded.table;
  try {
    const st = statSync(hostsFile);
    if (st.mtimeMs !== loaded.mtimeMs || st.size !== loaded.size) {
      const next = new Map();
      for (const line of readFileSync(hostsFile, 'utf8').split('\n')) {
        const [ip, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
        if (!ip || names.length === 0) continue;
        for (const name of names) {
          const key = name.toLowerCase();
          if (!next.has(key)) next.set(key, []);
          next.get(key).push(ip);
        }
      }
      loaded = { mtimeMs: st.mtimeMs, size: st.size, table: next };
    }
  } catch {
    // file not there (yet): nothing to add
  }
  return loaded.table;
}

/** Addresses for a name, trying the search path the way resolv.conf's ndots:5 does. */
function resolve(hostname) {
  if (typeof hostname !== 'string' || hostname === '' || net.isIP(hostname)) return undefined;
  const name = hostname.toLowerCase().replace(/\.$/, '');
  const t = table();
  const dots = name.split('.').length - 1;
  const candidates = hostname.endsWith('.')
    ? [name]
    : dots >= 5
      ? [name, ...search.map((s) => `${name}.${s}`)]
      : [...search.map((s) => `${name}.${s}`), name];
  for (const c of candidates) {
    const ips = t.get(c);
    if (ips?.length) return ips;
  }
  return undefined;
}

function normalize(options) {
  if (typeof options === 'number') return { family: options };
  return options ?? {};
}

const originalLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const opts = normalize(options);
  const ips = opts.family === 6 ? undefined : resolve(hostname);
  if (!ips) return originalLookup.call(this, hostname, options, callback);
  if (opts.all)
    process.nextTick(
      callback,
      null,
      ips.map((address) => ({ address, family: 4 })),
    );
  else process.nextTick(callback, null, ips[0], 4);
  return {};
};

const originalPromiseLookup = dns.promises.lookup;
dns.promises.lookup = async function lookup(hostname, options) {
  const opts = normalize(options);
  const ips = opts.family === 6 ? undefined : resolve(hostname);
  if (!ips) return originalPromiseLookup.call(this, hostname, options);
  return opts.all ? ips.map((address) => ({ address, family: 4 })) : { address: ips[0], family: 4 };
};

const anyHost = new Set([undefined, null, '', '0.0.0.0', '::']);
if (podIP) {
  const originalListen = net.Server.prototype.listen;
  net.Server.prototype.listen = function listen(...args) {
    const first = args[0];
    if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
      if (
        first.path === undefined &&
        first.handle === undefined &&
        first.fd === undefined &&
        anyHost.has(first.host)
      ) {
        args[0] = { ...first, host: podIP };
      }
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof args[1] !== 'string' || anyHost.has(args[1])) {
        if (typeof args[1] === 'string') args[1] = podIP;
        else args.splice(1, 0, podIP);
      }
    } else if (first === undefined || typeof first === 'function') {
      args.unshift(0, podIP);
      if (first === undefined) args.splice(2, 1);
    }
    return originalListen.apply(this, args);
  };
}

syncBuiltinESMExports();
