/**
 * Turns table rows (objects) into numeric feature vectors: numeric columns standardised to mean 0 and standard
 * deviation 1 (so one L2 penalty treats them alike), categorical columns one-hot encoded with one indicator per
 * level. The fitted encoders are plain JSON and travel inside model artefacts, so scoring reproduces training.
 */
import { NodeError, z } from '@finflow/sdk';

export type ColumnEncoder = NumericEncoder | CategoricalEncoder | ClassedEncoder;

export interface NumericEncoder {
  column: string;
  type: 'numeric';
  /** Mean and (population) standard deviation over the non-missing training values, before `transform`. */
  mean: number;
  std: number;
  /** log1p of the value before standardising (for heavy-tailed amounts; values must be >= 0). */
  transform?: 'log1p';
  /** The untransformed training mean, for explanations. */
  rawMean: number;
  /** Missing training values (imputed with the mean). */
  missing: number;
}

export interface CategoricalEncoder {
  column: string;
  type: 'categorical';
  levels: string[];
  /** Share of training rows at each level: the mean of each indicator column. */
  frequencies: number[];
}

/** One coarse class of a characteristic (see coarse-classing.ts, which fits them). */
export interface CoarseClass {
  /** Category codes of the class (categorical characteristics). */
  levels?: string[];
  /** Range of the class (numeric characteristics): from <= value < to; an open end is absent. */
  from?: number;
  to?: number;
  /** Outside the trend (an `apart` group). */
  apart?: boolean;
  /** Training rows and bad outcomes in the class. */
  rows: number;
  bads: number;
  /** ln(share of bads / share of goods): positive for a class riskier than the population. */
  woe: number;
}

/** A characteristic encoded by the weight of evidence of its coarse class: one number. */
export interface ClassedEncoder {
  column: string;
  type: 'classed';
  /** Whether the raw values are categories or numbers. */
  values: 'categorical' | 'numeric';
  trend: 'decreasing' | 'increasing' | 'none';
  classes: CoarseClass[];
  /** Training mean of the encoded value, rows without a value counting as 0. */
  mean: number;
  /** Numbers with no fraction in training, so ranges read "12 to 23" rather than "12 to under 24". */
  integers?: boolean;
}

export type Row = Readonly<Record<string, unknown>>;

/** The level that stands for a missing categorical value. */
export const MISSING_LEVEL = '(missing)';

const numberPattern = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function isMissing(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'number' && Number.isNaN(value)) ||
    (typeof value === 'string' && value.trim() === '')
  );
}

/** A number, or undefined for a value that is not one (the caller decides whether that is an error). */
export function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    const s = value.trim();
    return numberPattern.test(s) ? Number(s) : undefined;
  }
  return undefined;
}

export function showValue(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** The category a value falls in (numbers and booleans by their text). */
export function categoryOf(value: unknown, column: string, rowIndex: number): string {
  if (isMissing(value)) return MISSING_LEVEL;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new NodeError(
    `row ${rowIndex + 1}, column "${column}": expected a category or a number, got ${Array.isArray(value) ? 'a list' : typeof value}`,
    'INVALID_VALUE',
  );
}

export function readNumeric(value: unknown, column: string, rowIndex: number): number | undefined {
  if (isMissing(value)) return undefined;
  const v = parseNumber(value);
  if (v === undefined) {
    throw new NodeError(
      `row ${rowIndex + 1}, column "${column}" is numeric but holds ${showValue(value)}`,
      'NON_NUMERIC_VALUE',
      { details: { column, row: rowIndex + 1 } },
    );
  }
  return v;
}

export interface TypeHints {
  numeric?: readonly string[];
  categorical?: readonly string[];
}

/**
 * Decides each column's type. Listed columns keep their listed type. Otherwise a column whose values are all
 * numbers (or number-like text) is numeric and one whose values are mostly words is categorical; a column of
 * mostly numbers with a few non-numbers is numeric with bad values, which is an error rather than a silent switch
 * to categories.
 */
export function inferColumnTypes(
  rows: readonly Row[],
  columns: readonly string[],
  hints: TypeHints = {},
): Map<string, 'numeric' | 'categorical'> {
  const types = new Map<string, 'numeric' | 'categorical'>();
  for (const column of columns) {
    if (hints.categorical?.includes(column)) {
      types.set(column, 'categorical');
      continue;
    }
    if (hints.numeric?.includes(column)) {
      rows.forEach((row, i) => readNumeric(row[column], column, i));
      types.set(column, 'numeric');
      continue;
    }
    let numbers = 0;
    let others = 0;
    let firstOther = -1;
    let jsNumbers = 0;
    rows.forEach((row, i) => {
      const v = row[column];
      if (isMissing(v)) return;
      if (parseNumber(v) !== undefined) {
        numbers++;
        if (typeof v === 'number') jsNumbers++;
      } else {
        others++;
        if (firstOther < 0) firstOther = i;
      }
    });
    if (others === 0 && numbers > 0) types.set(column, 'numeric');
    else if (numbers > 0 && (jsNumbers > 0 || numbers >= 9 * others)) {
      // Reports the first offending row with the standard message.
      readNumeric(rows[firstOther]?.[column], column, firstOther);
    } else types.set(column, 'categorical');
  }
  return types;
}

/** Fits one encoder per column on the training rows. */
export function fitEncoders(
  rows: readonly Row[],
  columns: readonly string[],
  types: ReadonlyMap<string, 'numeric' | 'categorical'>,
  logColumns: readonly string[] = [],
): ColumnEncoder[] {
  return columns.map((column): ColumnEncoder => {
    if (types.get(column) === 'numeric') {
      const log = logColumns.includes(column);
      let n = 0;
      let sum = 0;
      let rawSum = 0;
      const values: number[] = [];
      rows.forEach((row, i) => {
        const raw = readNumeric(row[column], column, i);
        if (raw === undefined) return;
        if (log && raw < 0)
          throw new NodeError(
            `row ${i + 1}, column "${column}": a log-scaled amount cannot be negative (${raw})`,
            'NEGATIVE_AMOUNT',
          );
        const v = log ? Math.log1p(raw) : raw;
        values.push(v);
        n++;
        sum += v;
        rawSum += raw;
      });
      const mean = n ? sum / n : 0;
      let ss = 0;
      for (const v of values) ss += (v - mean) ** 2;
      const std = n ? Math.sqrt(ss / n) : 0;
      const enc: NumericEncoder = {
        column,
        type: 'numeric',
        mean,
        // A constant column standardises to 0 everywhere; std 1 keeps the arithmetic defined.
        std: std > 0 ? std : 1,
        rawMean: n ? rawSum / n : 0,
        missing: rows.length - n,
      };
      if (log) enc.transform = 'log1p';
      return enc;
    }
    const counts = new Map<string, number>();
    rows.forEach((row, i) => {
      const level = categoryOf(row[column], column, i);
      counts.set(level, (counts.get(level) ?? 0) + 1);
    });
    const levels = [...counts.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    return {
      column,
      type: 'categorical',
      levels,
      frequencies: levels.map((l) => (counts.get(l) as number) / rows.length),
    };
  });
}

/** Encoded features of one column: one for a number or a coarse class, one indicator per category level. */
export function encoderWidth(e: ColumnEncoder): number {
  return e.type === 'categorical' ? e.levels.length : 1;
}

/** Number of encoded features. */
export function encodedWidth(encoders: readonly ColumnEncoder[]): number {
  let w = 0;
  for (const e of encoders) w += encoderWidth(e);
  return w;
}

/** Names of the encoded features: the column, or `column=level` for an indicator. */
export function featureNames(encoders: readonly ColumnEncoder[]): string[] {
  return encoders.flatMap((e) =>
    e.type === 'categorical' ? e.levels.map((l) => `${e.column}=${l}`) : [e.column],
  );
}

/**
 * Training means of the encoded features (0 for standardised numbers, the level shares for indicators, the mean
 * weight of evidence for a coarse-classed characteristic).
 */
export function featureMeans(encoders: readonly ColumnEncoder[]): number[] {
  return encoders.flatMap((e) =>
    e.type === 'numeric' ? [0] : e.type === 'classed' ? [e.mean] : e.frequencies,
  );
}

/** The coarse class of a value, or -1 for a missing value or a category no class holds. */
export function classIndex(e: ClassedEncoder, value: unknown, rowIndex: number): number {
  if (e.values === 'numeric') {
    const v = readNumeric(value, e.column, rowIndex);
    if (v === undefined) return -1;
    return e.classes.findIndex(
      (c) => (c.from === undefined || v >= c.from) && (c.to === undefined || v < c.to),
    );
  }
  const level = categoryOf(value, e.column, rowIndex);
  if (level === MISSING_LEVEL) return -1;
  return e.classes.findIndex((c) => c.levels?.includes(level));
}

/** What encoding one row had to assume: values missing (imputed) or categories not seen in training. */
export interface EncodeIssue {
  column: string;
  kind: 'missing' | 'unseen';
  value?: string;
}

/**
 * Writes the encoded row into `out` at `offset`. A missing number takes the training mean and an unseen
 * category takes the training level shares, so neither moves the score; each such case is reported in `issues`.
 */
export function encodeRow(
  row: Row,
  encoders: readonly ColumnEncoder[],
  out: Float64Array,
  offset: number,
  rowIndex: number,
  issues?: EncodeIssue[],
): void {
  let j = offset;
  for (const e of encoders) {
    const raw = row[e.column];
    if (e.type === 'numeric') {
      const v = readNumeric(raw, e.column, rowIndex);
      if (v === undefined) {
        out[j++] = 0;
        issues?.push({ column: e.column, kind: 'missing' });
      } else {
        if (e.transform === 'log1p' && v < 0)
          throw new NodeError(
            `row ${rowIndex + 1}, column "${e.column}": a log-scaled amount cannot be negative (${v})`,
            'NEGATIVE_AMOUNT',
          );
        out[j++] = ((e.transform === 'log1p' ? Math.log1p(v) : v) - e.mean) / e.std;
      }
      continue;
    }
    if (e.type === 'classed') {
      // A value without a class (missing, or a category unseen in training) counts as the population: WoE 0.
      const k = classIndex(e, raw, rowIndex);
      out[j++] = k < 0 ? 0 : (e.classes[k] as CoarseClass).woe;
      if (k < 0)
        issues?.push(
          isMissing(raw)
            ? { column: e.column, kind: 'missing' }
            : { column: e.column, kind: 'unseen', value: String(raw) },
        );
      continue;
    }
    const level = categoryOf(raw, e.column, rowIndex);
    const at = e.levels.indexOf(level);
    if (at < 0) {
      for (let k = 0; k < e.levels.length; k++) out[j + k] = e.frequencies[k] as number;
      issues?.push(
        level === MISSING_LEVEL
          ? { column: e.column, kind: 'missing' }
          : { column: e.column, kind: 'unseen', value: level },
      );
    } else {
      for (let k = 0; k < e.levels.length; k++) out[j + k] = k === at ? 1 : 0;
    }
    j += e.levels.length;
  }
}

/** Encodes all rows into a row-major design matrix. */
export function encodeRows(rows: readonly Row[], encoders: readonly ColumnEncoder[]): Float64Array {
  const p = encodedWidth(encoders);
  const x = new Float64Array(rows.length * p);
  rows.forEach((row, i) => encodeRow(row, encoders, x, i * p, i));
  return x;
}

export const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/**
 * The stored form of a column encoder, validated when a model artefact is loaded. Defined in the contract, since
 * the federated coordinator sends it to data holders (and their route parses it) in the same form.
 */
export { columnEncoderSchema as encoderSchema } from '@finflow/contract';
