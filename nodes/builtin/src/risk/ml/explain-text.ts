/**
 * Human-readable names and reason statements. Adverse-action reasons must be specific (US Regulation B,
 * 12 CFR 1002.9(b)(2): "insufficient" to say the applicant failed to reach a qualifying score) and automated
 * decisions must be explainable on request (PRC PIPL art. 24), so each reason names the factor and the value,
 * in English and, when the labels give Chinese names, in Chinese.
 */
import { z } from '@finflow/sdk';

const names = {
  columns: z
    .record(z.string(), z.string())
    .optional()
    .meta({
      title: 'Column names',
      description: 'Column → readable name, e.g. "checking_status": "Checking account"',
      zh: { title: '列名称', description: '列 → 可读名称，例如 "checking_status": "Checking account"' },
    }),
  values: z
    .record(z.string(), z.record(z.string(), z.string()))
    .optional()
    .meta({
      title: 'Category names',
      description: 'Column → code → readable name, e.g. "A11": "below 0 DM"',
      zh: { title: '类别名称', description: '列 → 代码 → 可读名称，例如 "A11": "below 0 DM"' },
    }),
};

/** Display names for columns and category codes, in English and optionally in Chinese (`zh`). */
export const labelsSchema = z.object({
  ...names,
  zh: z
    .object(names)
    .optional()
    .meta({
      title: 'Chinese names',
      description: 'The same names in Chinese, for the Chinese reasons',
      zh: { title: '中文名称', description: '中文的列名称和类别名称，用于中文原因说明' },
    }),
});
export type Labels = z.output<typeof labelsSchema>;

export function columnLabel(labels: Labels | undefined, column: string): string {
  return labels?.columns?.[column] ?? column;
}

export function valueLabel(labels: Labels | undefined, column: string, value: string): string {
  return labels?.values?.[column]?.[value] ?? value;
}

/** The Chinese name of a column, if the labels give one. */
export function columnLabelZh(labels: Labels | undefined, column: string): string | undefined {
  return labels?.zh?.columns?.[column];
}

/** The Chinese name of a category, if the labels give one. */
export function valueLabelZh(labels: Labels | undefined, column: string, value: string): string | undefined {
  return labels?.zh?.values?.[column]?.[value];
}

/** Merges label maps; later ones win per entry. */
export function mergeLabels(...maps: (Labels | undefined)[]): Labels {
  const merge = (parts: (Omit<Labels, 'zh'> | undefined)[]) => {
    const columns: Record<string, string> = {};
    const values: Record<string, Record<string, string>> = {};
    for (const m of parts) {
      if (!m) continue;
      Object.assign(columns, m.columns);
      for (const [c, v] of Object.entries(m.values ?? {})) values[c] = { ...values[c], ...v };
    }
    return { columns, values };
  };
  return { ...merge(maps), zh: merge(maps.map((m) => m?.zh)) };
}

const merged = new WeakMap<Labels, WeakMap<Labels, Labels>>();
const NONE: Labels = {};

/**
 * A model's labels merged with a node's: the same two objects on every call of a published flow, so the merge
 * is made once per pair (the result must not be changed).
 */
export function modelLabels(model: Labels, overrides: Labels | undefined): Labels {
  let byOverride = merged.get(model);
  if (!byOverride) merged.set(model, (byOverride = new WeakMap()));
  let labels = byOverride.get(overrides ?? NONE);
  if (!labels) byOverride.set(overrides ?? NONE, (labels = mergeLabels(model, overrides)));
  return labels;
}

// Building an Intl.NumberFormat costs tens of microseconds; scoring one transaction must not pay that per number.
// Each is built on first use, not at import: the first one maps ICU's number-formatting data (4-5 MiB resident),
// which a server that never explains a score need not carry (issue 18).
const formats: (Intl.NumberFormat | undefined)[] = [];

/** A number for a sentence: at most two decimals (three below 1), grouped thousands, no trailing zeros. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 1 ? 2 : 3;
  return (formats[digits] ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: digits })).format(v);
}
