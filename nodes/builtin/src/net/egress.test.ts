import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyAddress,
  createEgress,
  egressDecision,
  parseEgressAllowList,
  type Egress,
  type Lookup,
} from './egress.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface Listener {
  url: string;
  port: number;
  seen: Seen[];
  server: Server;
}

const listeners: Listener[] = [];
const clients: Egress[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(
    listeners.splice(0).map(
      (l) =>
        new Promise<void>((done) => {
          l.server.closeAllConnections();
          l.server.close(() => done());
        }),
    ),
  );
});

async function listen(
  host: string,
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_q, res) => res.end('ok'),
): Promise<Listener> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((done) => server.listen(0, host, done));
  const port = (server.address() as AddressInfo).port;
  const l = { url: `http://${host}:${port}`, port, seen, server };
  listeners.push(l);
  return l;
}

function client(allow: string | undefined, lookup?: Lookup): Egress {
  const c = createEgress(parseEgressAllowList(allow), lookup ? { lookup } : {});
  clients.push(c);
  return c;
}

async function refusal(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('the request was not refused');
}

describe('address classes', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:10.1.2.3]', 'private'],
    ['10.0.0.5', 'private'],
    ['172.31.255.1', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.10.10', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['100.64.0.1', 'shared'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['64:ff9b::7f00:1', 'translation'],
    ['2002:7f00:1::', 'translation'],
  ])('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });
});

describe('the allow-list', () => {
  it('opens loopback, private ranges, CIDRs and host names, but a metadata address only by name', () => {
    const p = parseEgressAllowList('loopback, 10.20.0.0/16 llm.bank.internal *.corp.example 169.254.0.0/16');
    expect(egressDecision(p, '127.0.0.1', '127.0.0.1').ok).toBe(true);
    expect(egressDecision(p, '10.20.3.4', '10.20.3.4').ok).toBe(true);
    expect(egressDecision(p, '10.21.3.4', '10.21.3.4').ok).toBe(false);
    expect(egressDecision(p, 'llm.bank.internal', '10.9.9.9').ok).toBe(true);
    expect(egressDecision(p, 'a.b.corp.example', '192.168.0.7').ok).toBe(true);
    expect(egressDecision(p, 'corp.example.evil', '192.168.0.7').ok).toBe(false);
    // A range covering the metadata address, or a trusted name resolving to it, does not open it.
    expect(egressDecision(p, '169.254.169.254', '169.254.169.254').ok).toBe(false);
    expect(egressDecision(p, 'llm.bank.internal', '169.254.169.254').ok).toBe(false);
    expect(egressDecision(parseEgressAllowList('169.254.169.254'), 'x', '169.254.169.254').ok).toBe(true);
    expect(parseEgressAllowList('').source).toBe('');
  });

  it.each(['10.0.0.0/33', 'fd00::/129', 'http://x', 'a b/c', '10.0.0.0/8/1', '-bad-.example'])(
    'refuses the entry %s',
    (entry) => {
      expect(() => parseEgressAllowList(entry)).toThrow(/egress allow-list/);
    },
  );
});

describe('the egress client', () => {
  it('refuses loopback by default: the listener never sees a connection', async () => {
    const l = await listen('127.0.0.1');
    const strict = client(undefined);
    for (const url of [l.url, `http://localhost:${l.port}`, `http://[::ffff:127.0.0.1]:${l.port}`]) {
      const err = await refusal(strict.fetch(url, { headers: { authorization: 'Bearer sk-secret' } }));
      expect(err.code).toBe('EGRESS_DENIED');
      expect(err.message).toContain('loopback');
    }
    expect(l.seen).toHaveLength(0);
    const open = client('loopback');
    expect(await (await open.fetch(`${l.url}/x`)).text()).toBe('ok');
    expect(l.seen).toHaveLength(1);
  });

  it('checks the address a name resolves to when it connects', async () => {
    const l = await listen('127.0.0.1');
    const rebinding: Lookup = (_host, _opts, cb) =>
      cb(null, [
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]);
    const err = await refusal(client(undefined, rebinding).fetch(`http://api.example.test:${l.port}/v1`));
    expect(err.code).toBe('EGRESS_DENIED');
    expect(err.message).toContain('api.example.test (127.0.0.1)');
    // The connection goes to the address the check saw: allowed, the listener is reached through the name.
    const toLoopback: Lookup = (_host, _opts, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
    const res = await client('127.0.0.1/32', toLoopback).fetch(`http://api.example.test:${l.port}/v1`);
    expect(res.status).toBe(200);
    expect(l.seen[0]?.headers.host).toBe(`api.example.test:${l.port}`);
  });

  it('checks every redirect and drops credentials when the origin changes', async () => {
    const inside = await listen('127.0.0.2');
    const elsewhere = await listen('127.0.0.1', (_q, res) => {
      res.statusCode = 307;
      res.setHeader('location', `${inside.url}/stolen`);
      res.end();
    });
    const onlyFirst = client('127.0.0.1');
    const err = await refusal(
      onlyFirst.fetch(`${elsewhere.url}/v1`, { method: 'POST', headers: { authorization: 'Bearer k' } }),
    );
    expect(err.code).toBe('EGRESS_DENIED');
    expect(inside.seen).toHaveLength(0);

    const both = client('127.0.0.1 127.0.0.2');
    const res = await both.fetch(`${elsewhere.url}/v1`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    const hop = inside.seen[0] as Seen;
    expect(hop.url).toBe('/stolen');
    expect(hop.method).toBe('POST');
    expect(hop.body).toBe('{"a":1}');
    expect(hop.headers.authorization).toBeUndefined();
  });

  it('keeps credentials on a same-origin redirect and stops after five', async () => {
    const l = await listen('127.0.0.1', (req, res) => {
      if (req.url === '/final') return res.end('done');
      res.statusCode = req.url === '/loop' ? 302 : 301;
      res.setHeader('location', req.url === '/loop' ? '/loop' : '/final');
      res.end();
    });
    const c = client('loopback');
    const res = await c.fetch(`${l.url}/start`, { headers: { authorization: 'Bearer k' } });
    expect(await res.text()).toBe('done');
    expect(l.seen.map((s) => s.headers.authorization)).toEqual(['Bearer k', 'Bearer k']);
    const err = await refusal(c.fetch(`${l.url}/loop`));
    expect(err.message).toContain('more than 5 redirects');
  });

  it('refuses other schemes and URLs with user names', async () => {
    const c = client('loopback');
    expect((await refusal(c.fetch('file:///etc/passwd'))).code).toBe('EGRESS_DENIED');
    expect((await refusal(c.fetch('http://u:p@127.0.0.1:9/'))).code).toBe('EGRESS_DENIED');
  });
});
