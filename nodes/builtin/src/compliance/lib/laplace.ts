/**
 * Randomness for the Laplace mechanism. Production draws use the operating system's CSPRNG (53-bit uniforms),
 * so noise cannot be predicted; a seed switches to a small deterministic generator (sfc32 seeded by
 * splitmix32) for reproducible tests and demos only, because seeded noise can be subtracted by anyone who knows
 * the seed.
 */
import { randomBytes } from 'node:crypto';

export type Uniform = () => number;

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded uniform generator on (0, 1) with 53 random bits (sfc32). */
export function seededUniform(seed: number): Uniform {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next32();
  return () => {
    const hi = next32() >>> 5; // 27 bits
    const lo = next32() >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  };
}

/** Uniform on (0, 1) from the CSPRNG, buffered. */
export function secureUniform(): Uniform {
  let buffer = randomBytes(0);
  let offset = 0;
  return () => {
    if (offset + 8 > buffer.length) {
      buffer = randomBytes(8 * 256);
      offset = 0;
    }
    const hi = buffer.readUInt32BE(offset) >>> 5;
    const lo = buffer.readUInt32BE(offset + 4) >>> 6;
    offset += 8;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  };
}

/** One draw of Laplace(0, scale) by inverse transform. */
export function laplace(uniform: Uniform, scale: number): number {
  const u = uniform() - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}
