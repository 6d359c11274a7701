/**
 * docker-compose.yml is checked against the server's configuration schema: every variable its FinFlow services
 * set is one the server reads, the values pass the server's own validation, and the services point at each
 * other (Redis, Postgres with the credentials the Postgres service is given). No Docker is needed to run this.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configVariables, loadConfig } from '../config.js';

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
}

const file = fileURLToPath(new URL('../../../docker-compose.yml', import.meta.url));
const compose = parse(readFileSync(file, 'utf8')) as { services: Record<string, Service> };

/** Compose's `${NAME:?message}` stands for a value the user supplies: a valid key here. */
const resolveEnv = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v.startsWith('${') ? 'ab'.repeat(32) : String(v)]),
  );

describe('docker-compose.yml', () => {
  const finflow = Object.entries(compose.services).filter(([, s]) => s.command?.includes('finflow'));

  it('has servers, workers, Redis and Postgres', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'redis', 'server', 'worker']);
    expect(compose.services['server']?.command).toEqual(['npx', 'finflow', 'serve']);
    expect(compose.services['worker']?.command).toEqual(['npx', 'finflow', 'worker']);
  });

  it('sets only variables the server reads, with values its schema accepts', () => {
    expect(finflow.length).toBe(2);
    for (const [name, service] of finflow) {
      const env = service.environment ?? {};
      const unknown = Object.keys(env).filter((k) => !configVariables.includes(k));
      expect(unknown, `${name} sets variables the server does not read`).toEqual([]);
      const config = loadConfig(resolveEnv(env), '/');
      expect(config.mode, name).toBe('queue');
    }
  });

  it('points servers and workers at the same Redis, Postgres and master key', () => {
    const pg = compose.services['postgres']?.environment ?? {};
    const expectedDb = `postgres://${pg['POSTGRES_USER']}:${pg['POSTGRES_PASSWORD']}@postgres:5432/${pg['POSTGRES_DB']}`;
    for (const [name, service] of finflow) {
      const env = service.environment ?? {};
      expect(env['REDIS_URL'], name).toBe('redis://redis:6379');
      expect(env['DATABASE_URL'], name).toBe(expectedDb);
      expect(env['FINFLOW_SECRET_KEY'], name).toMatch(/^\$\{FINFLOW_SECRET_KEY:\?/);
      expect(Object.keys(service.depends_on ?? {}), name).toEqual(
        expect.arrayContaining(['redis', 'postgres']),
      );
    }
  });

  it('lists in the schema every variable the README documents for queue mode', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    for (const v of ['FINFLOW_MODE', 'REDIS_URL', 'FINFLOW_RUN_LEASE_MS', 'FINFLOW_WORKER_CONCURRENCY']) {
      expect(configVariables).toContain(v);
      expect(readme).toContain(v);
    }
  });

  it('refuses queue mode without Redis, and a Redis URL that is not one', () => {
    expect(() => loadConfig({ FINFLOW_MODE: 'queue' }, '/')).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ FINFLOW_MODE: 'queue', REDIS_URL: 'http://evil.example' }, '/')).toThrow(
      /REDIS_URL/,
    );
    expect(() => loadConfig({ FINFLOW_MODE: 'cluster' }, '/')).toThrow(/FINFLOW_MODE/);
    expect(() => loadConfig({ FINFLOW_RUN_LEASE_MS: '10' }, '/')).toThrow(/FINFLOW_RUN_LEASE_MS/);
    expect(loadConfig({}, '/')).toMatchObject({ mode: 'main', redisUrl: undefined });
  });
});
