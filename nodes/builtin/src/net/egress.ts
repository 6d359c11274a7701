/**
 * The egress policy and the one HTTP client that nodes use to call outside the server (model, embeddings and
 * transcription providers). Loopback, private, link-local, shared (CGNAT), translation and cloud metadata
 * addresses are refused unless the server's allow-list names them (FINFLOW_EGRESS_ALLOW). The check is made on
 * the address actually connected to, inside the connection's DNS lookup, so a name that resolves to a public
 * address when checked and to an internal one when used (DNS rebinding) gains nothing; every redirect is followed
 * by hand and checked the same way, and a redirect to another origin loses the request's credentials.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Agent, fetch as UndiciFetch } from 'undici';
import { ErrorCodes, NodeError } from '@finflow/sdk';

/** Classes of address; everything but `public` needs the allow-list. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'shared'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'translation';

type Family = 'ipv4' | 'ipv6';

function blockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [net, prefix] = entry.split('/') as [string, string | undefined];
    const family: Family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(net, family);
    else list.addSubnet(net, Number(prefix), family);
  }
  return list;
}

/**
 * Cloud instance metadata services (AWS, GCP, Azure, Alibaba Cloud, ECS task metadata, Azure's WireServer).
 * Only an exact address in the allow-list opens one: no range, keyword or host name does.
 */
export const metadataAddresses = [
  '169.254.169.254',
  '169.254.170.2',
  '100.100.100.200',
  '168.63.129.16',
  'fd00:ec2::254',
] as const;

const classes: [AddressClass, BlockList][] = [
  ['metadata', blockList(metadataAddresses)],
  ['unspecified', blockList(['0.0.0.0/8', '::/128'])],
  ['loopback', blockList(['127.0.0.0/8', '::1/128'])],
  ['private', blockList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'])],
  ['link-local', blockList(['169.254.0.0/16', 'fe80::/10'])],
  ['shared', blockList(['100.64.0.0/10'])],
  ['multicast', blockList(['224.0.0.0/4', 'ff00::/8'])],
  [
    'reserved',
    blockList([
      '192.0.0.0/24',
      '192.0.2.0/24',
      '198.18.0.0/15',
      '198.51.100.0/24',
      '203.0.113.0/24',
      '240.0.0.0/4',
      '2001:db8::/32',
      '100::/64',
    ]),
  ],
  // Addresses that carry an IPv4 address inside IPv6 (NAT64, 6to4, Teredo) could reach any of the above.
  ['translation', blockList(['64:ff9b::/96', '64:ff9b:1::/48', '2002::/16', '2001::/32'])],
];

/** The 16-bit groups of an IPv6 address (with an embedded dotted IPv4 tail), or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = (dotted[1] as string).split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** An address in canonical form, IPv4-mapped and IPv4-compatible IPv6 addresses as the IPv4 they carry. */
export function normalizeAddress(address: string): { ip: string; family: Family } | undefined {
  const ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v = isIP(ip);
  if (v === 4) return { ip, family: 'ipv4' };
  if (v !== 6) return undefined;
  const g = ipv6Groups(ip.toLowerCase());
  if (!g) return { ip, family: 'ipv6' };
  const zeros = g.slice(0, 5).every((x) => x === 0);
  const v4 = () => `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  if (zeros && g[5] === 0xffff) return { ip: v4(), family: 'ipv4' };
  // ::a.b.c.d (deprecated IPv4-compatible), but not :: and ::1.
  if (zeros && g[5] === 0 && (g[6]! > 0 || g[7]! > 1)) return { ip: v4(), family: 'ipv4' };
  return { ip: g.map((x) => x.toString(16)).join(':'), family: 'ipv6' };
}

export function classifyAddress(address: string): AddressClass {
  const n = normalizeAddress(address);
  if (!n) return 'reserved';
  for (const [cls, list] of classes) if (list.check(n.ip, n.family)) return cls;
  return 'public';
}

export interface EgressPolicy {
  /** The allow-list as written, for messages and the server's start-up log. */
  readonly source: string;
  /** Ranges and addresses opened by the allow-list. */
  readonly ranges: BlockList;
  /** Exact addresses named in the allow-list (the only way to open a metadata address). */
  readonly exact: ReadonlySet<string>;
  /** Host names (exact, or `*.suffix`) whose resolved addresses are trusted. */
  readonly hosts: readonly string[];
}

export class EgressConfigError extends Error {
  override readonly name = 'EgressConfigError';
}

const hostPattern = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/;

/**
 * Parses the allow-list: entries separated by commas or spaces, each `loopback`, `private`, an IP address, a
 * CIDR range (`10.20.0.0/16`, `fd12::/48`) or a host name (`llm.bank.internal`, `*.bank.internal`). Empty:
 * only public addresses.
 */
export function parseEgressAllowList(text: string | undefined): EgressPolicy {
  const ranges = new BlockList();
  const exact = new Set<string>();
  const hosts: string[] = [];
  const entries = (text ?? '')
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const lower = entry.toLowerCase();
    if (lower === 'loopback') {
      ranges.addSubnet('127.0.0.0', 8, 'ipv4');
      ranges.addAddress('::1', 'ipv6');
      continue;
    }
    if (lower === 'private') {
      for (const [net, prefix] of [
        ['10.0.0.0', 8],
        ['172.16.0.0', 12],
        ['192.168.0.0', 16],
      ] as const)
        ranges.addSubnet(net, prefix, 'ipv4');
      ranges.addSubnet('fc00::', 7, 'ipv6');
      continue;
    }
    const [net, prefix, extra] = entry.split('/');
    const address = net ? normalizeAddress(net) : undefined;
    if (address && extra === undefined) {
      if (prefix === undefined) {
        ranges.addAddress(address.ip, address.family);
        exact.add(address.ip);
        continue;
      }
      const bits = Number(prefix);
      const max = address.family === 'ipv4' ? 32 : 128;
      if (!/^\d{1,3}$/.test(prefix) || bits > max)
        throw new EgressConfigError(`egress allow-list: "${entry}" has a prefix outside 0-${max}`);
      ranges.addSubnet(address.ip, bits, address.family);
      continue;
    }
    if (prefix === undefined && hostPattern.test(lower)) {
      hosts.push(lower);
      continue;
    }
    throw new EgressConfigError(
      `egress allow-list: "${entry}" is not loopback, private, an IP address, a CIDR range or a host name`,
    );
  }
  return { source: entries.join(','), ranges, exact, hosts };
}

function hostAllowed(policy: EgressPolicy, hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return policy.hosts.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1)) : h === p));
}

export type EgressDecision = { ok: true } | { ok: false; addressClass: AddressClass; message: string };

/** Whether the policy lets a connection to `hostname` go to `address`. */
export function egressDecision(policy: EgressPolicy, hostname: string, address: string): EgressDecision {
  const cls = classifyAddress(address);
  if (cls === 'public') return { ok: true };
  const n = normalizeAddress(address);
  const named = n !== undefined && policy.exact.has(n.ip);
  if (
    cls === 'metadata'
      ? named
      : named || (n && policy.ranges.check(n.ip, n.family)) || hostAllowed(policy, hostname)
  )
    return { ok: true };
  const shown = hostname === address ? address : `${hostname} (${address})`;
  return {
    ok: false,
    addressClass: cls,
    message: `the egress policy refuses ${shown}: a ${cls} address${cls === 'metadata' ? ' (cloud instance metadata)' : ''}; an administrator can allow it in FINFLOW_EGRESS_ALLOW`,
  };
}

function denied(decision: Extract<EgressDecision, { ok: false }>, hostname: string): NodeError {
  return new NodeError(decision.message, ErrorCodes.EGRESS_DENIED, {
    details: { host: hostname, addressClass: decision.addressClass },
  });
}

/** Checks a URL before a request: scheme, and the host when it is an address. */
export function checkUrl(policy: EgressPolicy, url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new NodeError(
      `only http and https may leave the server, not ${url.protocol}`,
      ErrorCodes.EGRESS_DENIED,
    );
  if (url.username || url.password)
    throw new NodeError(
      'a URL with a user name or password may not leave the server',
      ErrorCodes.EGRESS_DENIED,
    );
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const d = egressDecision(policy, host, host);
    if (!d.ok) throw denied(d, host);
  }
}

/**
 * Why a connection's base URL could never be reached under the policy, judged without DNS (an address in the URL,
 * or `localhost`), for the moment an administrator writes it; undefined when it may be. Names are checked when
 * they are used, on the address they resolve to.
 */
export function checkConnectionUrl(policy: EgressPolicy, baseUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return 'not a URL';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const address = isIP(host)
    ? host
    : host === 'localhost' || host.endsWith('.localhost')
      ? '127.0.0.1'
      : undefined;
  if (address === undefined) return undefined;
  const d = egressDecision(policy, host, address);
  return d.ok ? undefined : d.message;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
export type Lookup = (
  hostname: string,
  options: { all: true; family?: number },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemLookup: Lookup = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/** A DNS lookup that refuses names resolving to an address the policy does not allow (any of them). */
function guardedLookup(policy: EgressPolicy, resolve: Lookup) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    resolve(
      hostname,
      { all: true, ...(options.family ? { family: options.family } : {}) },
      (err, addresses) => {
        if (err) return callback(err, []);
        for (const a of addresses) {
          const d = egressDecision(policy, hostname, a.address);
          if (!d.ok) return callback(denied(d, hostname) as unknown as NodeJS.ErrnoException, []);
        }
        if (!addresses.length)
          return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
        if (options.all) return callback(null, addresses);
        const first = addresses[0] as LookupAddress;
        return callback(null, first.address, first.family);
      },
    );
  };
}

export interface Egress {
  readonly policy: EgressPolicy;
  /** `fetch` under the policy: addresses checked at connect time, redirects followed by hand and checked. */
  fetch: typeof globalThis.fetch;
  /** Closes pooled connections (at server shutdown). */
  close(): Promise<void>;
}

const MAX_REDIRECTS = 5;
const credentialHeaders = ['authorization', 'proxy-authorization', 'api-key', 'x-api-key', 'cookie'];

/** A request body as bytes (re-sendable on a 307/308), with the content type a FormData or Blob implies. */
async function bufferedBody(body: unknown, headers: Headers): Promise<string | Uint8Array | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  // FormData, Blob, URLSearchParams and streams, from this realm or another: serialised once by the platform.
  const r = new Response(body as ConstructorParameters<typeof Response>[0]);
  const type = r.headers.get('content-type');
  if (type && !headers.has('content-type')) headers.set('content-type', type);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * Builds the egress client for a policy. `lookup` replaces DNS (tests). undici is loaded with the first request
 * (it costs a few hundred milliseconds at start, and most runs never leave the server).
 */
export function createEgress(policy: EgressPolicy, options: { lookup?: Lookup } = {}): Egress {
  let client: Promise<{ agent: Agent; fetch: typeof UndiciFetch }> | undefined;
  const load = () =>
    (client ??= import('undici').then((undici) => ({
      agent: new undici.Agent({
        connect: { lookup: guardedLookup(policy, options.lookup ?? systemLookup) as never },
      }),
      fetch: undici.fetch,
    })));
  const guarded = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const { agent, fetch: undiciFetch } = await load();
    const request = typeof input === 'string' || input instanceof URL ? undefined : input;
    let url = new URL(request ? request.url : String(input));
    let method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = new Headers(request?.headers);
    for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
    let body = await bufferedBody(
      init.body ?? (request?.body ? await request.arrayBuffer() : undefined),
      headers,
    );
    const signal = init.signal ?? request?.signal ?? undefined;
    for (let hop = 0; ; hop++) {
      checkUrl(policy, url);
      let res: Awaited<ReturnType<typeof undiciFetch>>;
      try {
        res = await undiciFetch(url, {
          method,
          headers: Object.fromEntries(headers),
          ...(body === undefined ? {} : { body }),
          redirect: 'manual',
          dispatcher: agent,
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        // The lookup's refusal arrives as the cause of undici's "fetch failed"; callers see it as it is.
        for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++)
          if (e instanceof NodeError) throw e;
        throw err;
      }
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location) return res as unknown as Response;
      await res.body?.cancel().catch(() => {});
      if (hop >= MAX_REDIRECTS)
        throw new NodeError(
          `more than ${MAX_REDIRECTS} redirects from ${url.origin}`,
          ErrorCodes.EGRESS_DENIED,
        );
      const next = new URL(location, url);
      if (next.origin !== url.origin) for (const h of credentialHeaders) headers.delete(h);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      }
      url = next;
    }
  };
  return {
    policy,
    fetch: guarded as typeof globalThis.fetch,
    close: async () => {
      if (client) await (await client).agent.close();
    },
  };
}

let strictDefault: Egress | undefined;

/** The client used when nothing is injected: public addresses only. */
export function defaultEgress(): Egress {
  strictDefault ??= createEgress(parseEgressAllowList(undefined));
  return strictDefault;
}

declare module '@finflow/runtime' {
  interface Services {
    /** The HTTP client for calls leaving the server, under the server's egress policy (strict when absent). */
    egress?: Egress;
  }
}
