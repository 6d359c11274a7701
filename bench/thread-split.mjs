// Where a running server's CPU and wake-ups go, thread by thread, while a load runs (issue 18, round 5).
//
//   node bench/thread-split.mjs PID [--idle SECONDS] [-- COMMAND ARGS...]
//
// Reads /proc/PID/task/*/schedstat and status before and after COMMAND (typically wrk with the peer harness's
// post.lua, whose WRKJSON line gives the number of calls) or an idle interval, and prints for every thread its
// CPU (the scheduler's own nanoseconds, not the 10 ms ticks of /proc/PID/stat), its time waiting for a core, the
// times it was put on a core ("slices": wake-ups plus preemptions), voluntary and involuntary context switches
// and minor page faults, per call when the calls are known and per second otherwise. The kernel's wait channel
// of each thread tells the kinds apart: the event loop and the worker threads' loops wait in epoll, libuv's pool
// and V8's helper threads on a futex. When the calls are known, a summary by role follows (round 6): the busiest
// epoll thread is taken for the SQLite writer and the other epoll threads for the checkpointer and any other
// worker; of the futex threads, those put on a core at least once every two calls for libuv's pool (under
// durability full each call's WAL fdatasync runs there) and the rest for V8's helpers (a heuristic for one call
// at a time: Node 20 names no thread, and at c=10, where calls share a sync, pool threads can fall under V8's).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const pid = Number(args[0]);
if (!Number.isInteger(pid) || pid <= 0) {
  console.error('usage: node bench/thread-split.mjs PID [--idle SECONDS] [-- COMMAND ARGS...]');
  process.exit(2);
}
const dash = args.indexOf('--');
const command = dash < 0 ? [] : args.slice(dash + 1);
const idleAt = args.indexOf('--idle');
const idleSeconds = idleAt < 0 ? 10 : Number(args[idleAt + 1]);

function read(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** One reading of every thread of the process. */
function snapshot() {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const dir = `/proc/${pid}/task/${tid}`;
    const sched = read(`${dir}/schedstat`);
    const status = read(`${dir}/status`);
    const stat = read(`${dir}/stat`);
    if (!sched || !status || !stat) continue;
    const [run, wait, slices] = sched.trim().split(/\s+/).map(Number);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads.set(tid, {
      run,
      wait,
      slices,
      vol: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0),
      nvol: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0),
      minflt: Number(fields[7]),
      wchan: (read(`${dir}/wchan`) ?? '').trim(),
    });
  }
  return { at: performance.now(), threads };
}

function run(cmd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('error', reject);
    child.on('exit', () => resolve(out));
  });
}

const before = snapshot();
let calls;
if (command.length) {
  const out = await run(command);
  const line = /WRKJSON (\{.*\})/.exec(out)?.[1];
  if (line) calls = JSON.parse(line).requests;
} else await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
const after = snapshot();
const seconds = (after.at - before.at) / 1000;
const per = calls ?? seconds;
const unit = calls ? 'per call' : 'per second';

const rows = [];
const total = { run: 0, wait: 0, slices: 0, vol: 0, nvol: 0, minflt: 0 };
for (const [tid, b] of after.threads) {
  const a = before.threads.get(tid) ?? { run: 0, wait: 0, slices: 0, vol: 0, nvol: 0, minflt: 0 };
  const d = {};
  for (const k of Object.keys(total)) {
    d[k] = b[k] - a[k];
    total[k] += d[k];
  }
  if (d.slices === 0) continue;
  const name = Number(tid) === pid ? 'event loop' : b.wchan === '0' ? '(on a core)' : b.wchan;
  rows.push([tid, name, d]);
}
const f = (v, digits = 1) => (v / per).toFixed(digits).padStart(9);
console.log(
  `${calls ? `${calls} calls in ` : ''}${seconds.toFixed(1)} s, load average ${read('/proc/loadavg')?.split(' ')[0]}; ${unit}:`,
);
console.log('thread   kind                 CPU µs   wait µs    slices   vol ctx     invol    minflt');
for (const [tid, name, d] of rows.sort((x, y) => y[2].run - x[2].run))
  console.log(
    `${tid.padEnd(8)} ${name.padEnd(16)}${f(d.run / 1e3)}${f(d.wait / 1e3)}${f(d.slices, 2)}${f(d.vol, 2)}${f(d.nvol, 2)}${f(d.minflt, 2)}`,
  );
console.log(
  `${'all'.padEnd(8)} ${''.padEnd(16)}${f(total.run / 1e3)}${f(total.wait / 1e3)}${f(total.slices, 2)}${f(total.vol, 2)}${f(total.nvol, 2)}${f(total.minflt, 2)}`,
);

if (calls) {
  const roles = new Map();
  const add = (role, d) => {
    const r = roles.get(role) ?? { run: 0, wait: 0, slices: 0, vol: 0, nvol: 0, minflt: 0 };
    for (const k of Object.keys(r)) r[k] += d[k];
    roles.set(role, r);
  };
  let writerSeen = false;
  for (const [, name, d] of rows) {
    if (name === 'event loop') add('event loop', d);
    else if (name.includes('epoll')) {
      add(writerSeen ? 'other workers' : 'SQLite writer', d);
      writerSeen = true;
    } else if (name.includes('futex')) add(d.slices / per >= 0.5 ? "libuv's pool" : "V8's helpers", d);
    else add('other', d);
  }
  console.log('by role (heuristic, see the top of this file):');
  for (const [role, d] of roles)
    console.log(
      `         ${role.padEnd(16)}${f(d.run / 1e3)}${f(d.wait / 1e3)}${f(d.slices, 2)}${f(d.vol, 2)}${f(d.nvol, 2)}${f(d.minflt, 2)}`,
    );
}
