/**
 * CPU per call: the process's CPU split evenly among the calls in flight, so the shares add up to what the
 * process used, a call alone is charged its own CPU, and a call that never ended stops counting.
 */
import { describe, expect, it } from 'vitest';
import { CpuLedger } from './cpu-ledger.js';

/** A CPU clock the test moves (microseconds). */
function clock() {
  let us = 0;
  return { read: () => us, spend: (ms: number) => (us += ms * 1000) };
}

describe('CPU ledger', () => {
  it('charges a call alone its own CPU, and splits CPU evenly among calls in flight', () => {
    const c = clock();
    const ledger = new CpuLedger(c.read);
    c.spend(100); // before any call: nobody's
    const a = ledger.begin();
    c.spend(10);
    const b = ledger.begin();
    c.spend(20); // a and b in flight: 10 each
    expect(ledger.end(a)).toBeCloseTo(20, 9);
    c.spend(5);
    expect(ledger.end(b)).toBeCloseTo(15, 9);
    // Ending twice charges nothing more.
    expect(ledger.end(b)).toBe(0);
    expect(ledger.inFlight).toBe(0);
  });

  it('adds up to the CPU used while calls were in flight, whatever their overlap', () => {
    const c = clock();
    const ledger = new CpuLedger(c.read);
    const open = [ledger.begin()];
    let total = 0;
    let charged = 0;
    for (let i = 1; i <= 200; i++) {
      const ms = (i * 7) % 13;
      c.spend(ms);
      total += ms;
      const first = i % 3 === 0 ? open.shift() : undefined;
      if (first) charged += ledger.end(first);
      else open.push(ledger.begin());
    }
    c.spend(4);
    total += 4;
    for (const t of open) charged += ledger.end(t);
    expect(charged).toBeCloseTo(total, 6);
  });

  it('forgets a call that never ended, so it stops taking a share', () => {
    const c = clock();
    const ledger = new CpuLedger(c.read);
    const lost = ledger.begin(0);
    ledger.sweep(11 * 60_000);
    expect(ledger.inFlight).toBe(0);
    const a = ledger.begin(11 * 60_000);
    c.spend(8);
    expect(ledger.end(a)).toBeCloseTo(8, 9);
    expect(ledger.end(lost)).toBe(0);
  });

  it('measures real CPU on the default clock', () => {
    const ledger = new CpuLedger();
    const t = ledger.begin();
    // Spins until the process used 20 ms of CPU (however long a busy machine makes that take).
    const u0 = process.cpuUsage();
    const used = () => {
      const u = process.cpuUsage(u0);
      return (u.user + u.system) / 1000;
    };
    let x = 0;
    while (used() < 20) x += Math.sqrt(x + 1);
    const charged = ledger.end(t);
    const total = used();
    expect(x).toBeGreaterThan(0);
    expect(charged).toBeGreaterThanOrEqual(20);
    expect(charged).toBeLessThanOrEqual(total + 1);
  });
});
