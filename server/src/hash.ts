/**
 * Canonical JSON and hashing: the same value always gives the same bytes (object keys sorted), so content
 * hashes of flow versions and the audit chain do not depend on key order.
 */
import { createHash } from 'node:crypto';

/** Small objects are sorted in place by insertion sort; larger ones with Array.prototype.sort. */
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  if (keys.length > 16) return keys.sort();
  // Insertion sort in place: objects here are small and often in order already, and Array.prototype.sort
  // copies the array to sort it.
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

const primitive = (value: unknown): string => {
  const s = JSON.stringify(value);
  return s === undefined ? 'null' : s;
};

/** Recursion this deep is certainly safe; deeper values continue on an explicit stack. */
const RECURSION_LIMIT = 256;

/** JSON with object keys sorted at every level; `undefined` members are left out as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return canonical(value, 0);
}

function canonical(value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') return primitive(value);
  if (depth >= RECURSION_LIMIT) return canonicalDeep(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      // A hole stays empty, as Array.prototype.map and join leave it (JSON never has holes).
      if (!(i in value)) continue;
      const v: unknown = value[i];
      out += canonical(v === undefined ? null : v, depth + 1);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  let out = '{';
  for (const key of sortedKeys(obj)) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonical(v, depth + 1)}`;
  }
  return `${out}}`;
}

type Frame =
  | { array: unknown[]; i: number }
  | { object: Record<string, unknown>; keys: string[]; i: number; first: boolean };

/** The same text as `canonical`, on an explicit stack: a value of any depth cannot overflow the call stack. */
function canonicalDeep(value: object): string {
  let out = '';
  const stack: Frame[] = [];
  let next: unknown = value;
  for (;;) {
    if (next === null || typeof next !== 'object') out += primitive(next);
    else if (Array.isArray(next)) {
      out += '[';
      stack.push({ array: next, i: 0 });
    } else {
      out += '{';
      const object = next as Record<string, unknown>;
      stack.push({ object, keys: sortedKeys(object), i: 0, first: true });
    }
    // Find the next value to write, closing the containers that are done.
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return out;
      if ('array' in top) {
        if (top.i < top.array.length) {
          const i = top.i++;
          if (i) out += ',';
          if (!(i in top.array)) continue;
          const v: unknown = top.array[i];
          next = v === undefined ? null : v;
          break;
        }
        out += ']';
      } else {
        let found = false;
        while (top.i < top.keys.length) {
          const key = top.keys[top.i++] as string;
          const v = top.object[key];
          if (v === undefined || typeof v === 'function') continue;
          out += `${top.first ? '' : ','}${JSON.stringify(key)}:`;
          top.first = false;
          next = v;
          found = true;
          break;
        }
        if (found) break;
        out += '}';
      }
      stack.pop();
    }
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export const hashValue = (value: unknown): string => sha256(canonicalJson(value));
