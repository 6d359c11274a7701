import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cholesky, dot, matVec, NotPositiveDefiniteError, toMatrix, type Matrix } from './linalg.js';
import { QpInfeasibleError, solveQP, type LinearConstraint, type QuadraticProgram } from './qp.js';

const ge = (normal: number[], rhs: number): LinearConstraint => ({ normal, rhs, kind: 'ge' });
const eq = (normal: number[], rhs: number): LinearConstraint => ({ normal, rhs, kind: 'eq' });

/** Largest violation of the KKT conditions: stationarity, primal and dual feasibility, complementarity. */
function kktResidual(problem: QuadraticProgram, x: Float64Array, lambda: Float64Array): number {
  const n = x.length;
  const grad = matVec(problem.hessian, x);
  for (let i = 0; i < n; i++)
    grad[i] = (grad[i] as number) + ((problem.linear?.[i] as number | undefined) ?? 0);
  let worst = 0;
  problem.constraints.forEach((c, k) => {
    const l = lambda[k] as number;
    for (let i = 0; i < n; i++) grad[i] = (grad[i] as number) - l * (c.normal[i] as number);
    const slack = dot(c.normal, x) - c.rhs;
    if (c.kind === 'eq') worst = Math.max(worst, Math.abs(slack));
    else worst = Math.max(worst, -slack, -l, Math.abs(l * slack));
  });
  for (const g of grad) worst = Math.max(worst, Math.abs(g));
  return worst;
}

describe('solveQP (Goldfarb-Idnani)', () => {
  it('solves the quadprog reference problem exactly, with its multipliers', () => {
    // R quadprog's documented example: min ½x'x - (0,5,0)·x s.t. A'x ≥ b.
    const problem: QuadraticProgram = {
      hessian: toMatrix([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]),
      linear: [0, -5, 0],
      constraints: [ge([-4, -3, 0], -8), ge([2, 1, 0], 2), ge([0, -2, 1], 0)],
    };
    const sol = solveQP(problem);
    const expected = [10 / 21, 22 / 21, 44 / 21];
    sol.x.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 14));
    expect(sol.objective).toBeCloseTo(-50 / 21, 14);
    expect(Array.from(sol.multipliers)).toEqual([0, expect.closeTo(5 / 21, 14), expect.closeTo(44 / 21, 14)]);
    expect(sol.active.sort()).toEqual([1, 2]);
  });

  it('matches the closed form of an equality-constrained problem', () => {
    // min x² + y² + z² s.t. x + y + z = 3, x - y = 1 → (1.5, 0.5, 1).
    const sol = solveQP({
      hessian: toMatrix([
        [2, 0, 0],
        [0, 2, 0],
        [0, 0, 2],
      ]),
      constraints: [eq([1, 1, 1], 3), eq([1, -1, 0], 1)],
    });
    expect(Array.from(sol.x)).toEqual([
      expect.closeTo(1.5, 14),
      expect.closeTo(0.5, 14),
      expect.closeTo(1, 14),
    ]);
  });

  it('keeps a satisfied equality even when its residual starts positive, and skips a repeated one', () => {
    const sol = solveQP({
      hessian: toMatrix([
        [1, 0],
        [0, 1],
      ]),
      linear: [-4, -4],
      constraints: [eq([1, 1], 1), eq([2, 2], 2), ge([1, 0], 0), ge([0, 1], 0.8)],
    });
    expect(sol.x[0]).toBeCloseTo(0.2, 14);
    expect(sol.x[1]).toBeCloseTo(0.8, 14);
  });

  it('proves infeasibility and names the constraint', () => {
    const run = () =>
      solveQP({
        hessian: toMatrix([
          [1, 0],
          [0, 1],
        ]),
        constraints: [
          { ...ge([1, 0], 1), label: 'x ≥ 1' },
          { ...ge([0, 1], 1), label: 'y ≥ 1' },
          { ...ge([-1, -1], -1.5), label: 'x + y ≤ 1.5' },
        ],
      });
    expect(run).toThrow(QpInfeasibleError);
    expect(run).toThrow(/x \+ y ≤ 1\.5|x ≥ 1|y ≥ 1/);
  });

  it('refuses a Hessian that is not positive definite', () => {
    expect(() =>
      cholesky(
        toMatrix([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toThrow(NotPositiveDefiniteError);
    expect(() =>
      cholesky(
        toMatrix([
          [1, 1],
          [1, 1],
        ]),
      ),
    ).toThrow(NotPositiveDefiniteError);
  });

  it('satisfies the KKT conditions on random convex problems (property)', () => {
    const problemArb = fc
      .record({
        n: fc.integer({ min: 1, max: 8 }),
        m: fc.integer({ min: 0, max: 12 }),
        seed: fc.integer(),
      })
      .map(({ n, m, seed }) => {
        // A seeded generator keeps shrinking meaningful: one integer gives the whole problem.
        let s = seed >>> 0 || 1;
        const rnd = () => {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          return ((s >>> 0) / 2 ** 32) * 2 - 1;
        };
        const b: Matrix = Array.from({ length: n }, () => Float64Array.from({ length: n }, rnd));
        // H = B'B + 0.1 I is positive definite.
        const hessian: Matrix = Array.from({ length: n }, (_, i) =>
          Float64Array.from({ length: n }, (_, j) => {
            let v = i === j ? 0.1 : 0;
            for (let k = 0; k < n; k++)
              v += ((b[k] as Float64Array)[i] as number) * ((b[k] as Float64Array)[j] as number);
            return v;
          }),
        );
        // Constraints that a known point x0 satisfies, so every problem is feasible.
        const x0 = Array.from({ length: n }, rnd);
        const constraints: LinearConstraint[] = Array.from({ length: m }, (_, k) => {
          const normal = Array.from({ length: n }, rnd);
          const kind = k === 0 && n > 1 ? 'eq' : 'ge';
          return { normal, rhs: dot(normal, x0) - (kind === 'eq' ? 0 : Math.abs(rnd())), kind };
        });
        return {
          hessian,
          linear: Array.from({ length: n }, () => 3 * rnd()),
          constraints,
        } as QuadraticProgram;
      });
    fc.assert(
      fc.property(problemArb, (problem) => {
        const sol = solveQP(problem);
        expect(kktResidual(problem, sol.x, sol.multipliers)).toBeLessThan(1e-9);
      }),
      { numRuns: 300, seed: 20240611 },
    );
  });
});
