/**
 * Coarse classing, the scorecard practice that makes reasons make business sense. A reviewer groups each
 * characteristic into classes (category groups, or number ranges) and says how risk should run across them:
 * falling along the listed groups (from the worst expected to the best), rising or falling with a number, or no
 * order at all. Training counts good and bad outcomes per class and pools adjacent classes whose bad rates run
 * against the stated trend (pool-adjacent-violators), so the fitted trend is never illogical; each class is then
 * encoded by its weight of evidence (WoE, in the "more risk is positive" sign), one number per characteristic.
 * A characteristic whose classes all pool into one carries no information and is left out. The fitted classes
 * are plain JSON inside the scorecard artefact.
 */
import { NodeError, z } from '@finflow/sdk';
import {
  categoryOf,
  finite,
  MISSING_LEVEL,
  readNumeric,
  type ClassedEncoder,
  type CoarseClass,
  type Row,
} from './encoding.js';

export type { ClassedEncoder, CoarseClass } from './encoding.js';

/** How risk is expected to run across the classes. */
const trend = z.enum(['decreasing', 'increasing', 'none']).meta({
  description:
    'decreasing: risk falls along the listed groups (worst first) or as the number rises; increasing: risk rises along them; none: no order (each class stands on its own)',
  zh: {
    description:
      'decreasing：风险沿所列分组（最差的在前）或随数值增大而降低；increasing：风险沿分组升高；none：无顺序（每个分组各自独立）',
  },
});

/** The reviewer's classing of one characteristic. */
export const classingSpecSchema = z.union([
  z
    .object({
      /** Groups of category codes, listed in the order the trend refers to. */
      groups: z.array(z.array(z.string().min(1)).min(1)).min(1),
      /** Groups outside the order (e.g. "no account", "unknown"): kept apart, never pooled. */
      apart: z.array(z.array(z.string().min(1)).min(1)).default([]),
      trend,
    })
    .strict(),
  z
    .object({
      /** Ascending cut points: below the first, from each to the next, from the last up. */
      cuts: z.array(finite).min(1),
      trend,
    })
    .strict(),
]);
export type ClassingSpec = z.output<typeof classingSpecSchema>;
export type ClassingSpecInput = z.input<typeof classingSpecSchema>;

export const classedEncoderSchema = z.object({
  column: z.string().min(1),
  type: z.literal('classed'),
  values: z.enum(['categorical', 'numeric']),
  trend: z.enum(['decreasing', 'increasing', 'none']),
  classes: z
    .array(
      z.object({
        levels: z.array(z.string()).optional(),
        from: finite.optional(),
        to: finite.optional(),
        apart: z.boolean().optional(),
        rows: z.number().int().min(0),
        bads: z.number().int().min(0),
        woe: finite,
      }),
    )
    .min(1),
  integers: z.boolean().optional(),
  mean: finite,
});

interface Cell {
  levels?: string[];
  from?: number;
  to?: number;
  apart?: boolean;
  rows: number;
  bads: number;
}

/** Pools adjacent cells until bad rates follow the trend (weighted pool-adjacent-violators). */
function poolAdjacent(cells: Cell[], direction: 'decreasing' | 'increasing'): Cell[] {
  const rate = (c: Cell) => (c.rows ? c.bads / c.rows : 0);
  const violates = (a: Cell, b: Cell) => (direction === 'decreasing' ? rate(b) > rate(a) : rate(b) < rate(a));
  const out: Cell[] = [];
  for (const cell of cells) {
    out.push({ ...cell });
    while (out.length > 1 && violates(out[out.length - 2] as Cell, out[out.length - 1] as Cell)) {
      const b = out.pop() as Cell;
      const a = out.pop() as Cell;
      const merged: Cell = { rows: a.rows + b.rows, bads: a.bads + b.bads };
      if (a.levels || b.levels) merged.levels = [...(a.levels ?? []), ...(b.levels ?? [])];
      if (a.from !== undefined) merged.from = a.from;
      if (b.to !== undefined) merged.to = b.to;
      out.push(merged);
    }
  }
  return out;
}

export interface ClassingResult {
  encoder?: ClassedEncoder;
  /** What the training had to do: classes pooled against the data, or the characteristic left out. */
  notes: string[];
}

/**
 * Fits the classes of one characteristic on training rows (`y`: 1 for bad). Every category seen in training
 * must be in a group; a missing value has no class and counts as neutral (WoE 0) when scoring.
 */
export function fitClasses(
  rows: readonly Row[],
  y: Uint8Array,
  column: string,
  spec: ClassingSpec,
): ClassingResult {
  const notes: string[] = [];
  let cells: Cell[];
  let apart: Cell[] = [];
  let integers = true;
  if ('cuts' in spec) {
    const cuts = [...spec.cuts];
    if (cuts.some((c, i) => i > 0 && c <= (cuts[i - 1] as number)))
      throw new NodeError(`classes of "${column}": the cuts must rise`, 'INVALID_CONFIG');
    cells = [{ to: cuts[0] as number, rows: 0, bads: 0 }];
    cuts.forEach((c, i) =>
      cells.push({
        from: c,
        ...(i + 1 < cuts.length ? { to: cuts[i + 1] as number } : {}),
        rows: 0,
        bads: 0,
      }),
    );
    rows.forEach((row, i) => {
      const v = readNumeric(row[column], column, i);
      if (v === undefined) return;
      if (!Number.isInteger(v)) integers = false;
      const k = cells.findIndex(
        (c) => (c.from === undefined || v >= c.from) && (c.to === undefined || v < c.to),
      );
      const cell = cells[k] as Cell;
      cell.rows++;
      cell.bads += y[i] as number;
    });
  } else {
    cells = spec.groups.map((levels) => ({ levels: [...levels], rows: 0, bads: 0 }));
    apart = spec.apart.map((levels) => ({ levels: [...levels], apart: true, rows: 0, bads: 0 }));
    const all = [...cells, ...apart];
    const seen = new Set<string>();
    for (const c of all)
      for (const l of c.levels ?? []) {
        if (seen.has(l))
          throw new NodeError(`classes of "${column}": "${l}" is in two groups`, 'INVALID_CONFIG');
        seen.add(l);
      }
    rows.forEach((row, i) => {
      const level = categoryOf(row[column], column, i);
      if (level === MISSING_LEVEL) return;
      const cell = all.find((c) => c.levels?.includes(level));
      if (!cell)
        throw new NodeError(
          `classes of "${column}": the category "${level}" (row ${i + 1}) is in no group; add it to one`,
          'INVALID_CONFIG',
        );
      cell.rows++;
      cell.bads += y[i] as number;
    });
  }
  // A class with no training rows says nothing about risk. A range joins its neighbour, so every number still
  // has a class; a group is dropped, and its categories score as unseen (neutral, with a note).
  if ('cuts' in spec) {
    for (let i = 0; i < cells.length && cells.length > 1;) {
      const c = cells[i] as Cell;
      if (c.rows > 0) {
        i++;
        continue;
      }
      const next = cells[i + 1];
      const prev = cells[i - 1];
      if (next) {
        if (c.from === undefined) delete next.from;
        else next.from = c.from;
      } else if (prev) {
        if (c.to === undefined) delete prev.to;
        else prev.to = c.to;
      }
      cells.splice(i, 1);
    }
  } else cells = cells.filter((c) => c.rows > 0);
  apart = apart.filter((c) => c.rows > 0);
  if (spec.trend !== 'none') {
    const before = cells.length;
    cells = poolAdjacent(cells, spec.trend);
    if (cells.length < before && cells.length + apart.length > 1)
      notes.push(
        `${column}: ${before} classes pooled into ${cells.length}, where the data's bad rates run against the reviewed ${spec.trend} trend`,
      );
  }
  const classes = [...cells, ...apart];
  if (classes.length < 2) {
    notes.push(
      `${column}: left out; its bad rates run against the reviewed trend throughout, so its classes pool into one and it carries no information a customer could be told`,
    );
    return { notes };
  }
  const bads = classes.reduce((s, c) => s + c.bads, 0);
  const goods = classes.reduce((s, c) => s + c.rows - c.bads, 0);
  // Half a case added to every cell keeps the WoE of a small, one-sided class finite.
  const k = classes.length;
  const encoder: ClassedEncoder = {
    column,
    type: 'classed',
    mean: 0,
    values: 'cuts' in spec ? 'numeric' : 'categorical',
    trend: spec.trend,
    classes: classes.map((c) => ({
      ...(c.levels ? { levels: c.levels } : {}),
      ...(c.from !== undefined ? { from: c.from } : {}),
      ...(c.to !== undefined ? { to: c.to } : {}),
      ...(c.apart ? { apart: true } : {}),
      rows: c.rows,
      bads: c.bads,
      woe: Math.log((c.bads + 0.5) / (bads + 0.5 * k) / ((c.rows - c.bads + 0.5) / (goods + 0.5 * k))),
    })),
  };
  if ('cuts' in spec) encoder.integers = integers;
  // The training mean of the encoded value (rows without a value count as 0): the SHAP reference.
  encoder.mean = encoder.classes.reduce((s, c) => s + c.rows * c.woe, 0) / rows.length;
  return { encoder, notes };
}

const number = (v: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(v);

/** A numeric class in words: "below 12", "12 to 23", "36 or more" (Chinese: 低于 12, 12 至 23, 36 及以上). */
export function rangeLabel(e: ClassedEncoder, c: CoarseClass, language: 'en' | 'zh'): string {
  const upper = (to: number) => (e.integers && Number.isInteger(to) ? number(to - 1) : undefined);
  if (c.from === undefined && c.to !== undefined)
    return language === 'zh' ? `低于 ${number(c.to)}` : `below ${number(c.to)}`;
  if (c.from !== undefined && c.to === undefined)
    return language === 'zh' ? `${number(c.from)} 及以上` : `${number(c.from)} or more`;
  if (c.from !== undefined && c.to !== undefined) {
    const top = upper(c.to);
    if (top !== undefined)
      return language === 'zh' ? `${number(c.from)} 至 ${top}` : `${number(c.from)} to ${top}`;
    return language === 'zh'
      ? `${number(c.from)} 至不足 ${number(c.to)}`
      : `${number(c.from)} to under ${number(c.to)}`;
  }
  return language === 'zh' ? '全部' : 'any';
}
