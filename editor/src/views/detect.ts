/**
 * Which picture suits a result: portfolio weights with their performance, risk scores with attributions and
 * reasons, PII findings in their text, compliance checklists, decisions, images and tables. Detection is by
 * shape (what the risk, compliance and model nodes output), so a custom node with the same shape gets the same
 * picture. Pure functions, tested on their own.
 */

/**
 * What a score means, declared by the output that carries it (`scoreMeaning` next to `score`): a risk (the chance
 * or size of a bad outcome: drawn on a gauge with a red end), a ranking (higher is a better fit), or points on a
 * scale (`maxScore` gives its top). A score that declares nothing is shown as a plain number: the picture does not
 * guess a meaning from the shape.
 */
export const scoreMeanings = ['risk', 'ranking', 'points'] as const;
export type ScoreMeaning = (typeof scoreMeanings)[number];

export interface RiskItem {
  label: string;
  score?: number;
  meaning?: ScoreMeaning;
  maxScore?: number;
  probability?: number;
  points?: number;
  decision?: string;
  attributions: [string, number][];
  reasons: string[];
}
export interface PiiEntity {
  type: string;
  start: number;
  end: number;
  text?: string;
  score?: number;
}
export interface ChecklistRow {
  id?: string;
  articleRef?: string;
  actor?: string;
  modality?: string;
  obligation?: string;
  deadline?: { value: number; unit: string } | string;
  text?: string;
  [k: string]: unknown;
}

export type Picture =
  | {
      kind: 'portfolio';
      key: string;
      weights: [string, number][];
      performance?: { expectedReturn?: number; volatility?: number; sharpe?: number };
    }
  | { kind: 'risk'; key: string; items: RiskItem[] }
  | { kind: 'pii'; key: string; text: string; entities: PiiEntity[] }
  | { kind: 'checklist'; key: string; rows: ChecklistRow[] }
  | { kind: 'decision'; key: string; outcome: string; reasons: string[]; extra: Record<string, unknown> }
  | { kind: 'image'; key: string; src: string; name?: string }
  | { kind: 'table'; key: string; rows: Record<string, unknown>[] }
  | { kind: 'text'; key: string; text: string }
  | { kind: 'flag'; key: string; value: boolean }
  | { kind: 'numbers'; key: string; entries: [string, number][] }
  | { kind: 'value'; key: string; value: unknown };

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function numberRecord(v: unknown): [string, number][] | null {
  if (!isRec(v)) return null;
  const entries = Object.entries(v);
  if (!entries.length || !entries.every(([, x]) => typeof x === 'number' && Number.isFinite(x))) return null;
  return entries as [string, number][];
}

function attributionsOf(v: unknown): [string, number][] | null {
  const rec = numberRecord(v);
  if (rec) return rec;
  if (Array.isArray(v) && v.length && v.every(isRec)) {
    const out: [string, number][] = [];
    for (const a of v) {
      const name = a['feature'] ?? a['name'] ?? a['column'] ?? a['factor'];
      const value = num(a['value'] ?? a['contribution'] ?? a['shap'] ?? a['weight']);
      if (typeof name !== 'string' || value === undefined) return null;
      out.push([name, value]);
    }
    return out;
  }
  return null;
}

function reasonsOf(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((r) =>
      typeof r === 'string'
        ? r
        : isRec(r)
          ? String(r['message'] ?? r['text'] ?? r['reason'] ?? JSON.stringify(r))
          : String(r),
    )
    .filter(Boolean);
}

function riskItem(v: Rec, label: string): RiskItem | null {
  const attributions = attributionsOf(v['attributions'] ?? v['attribution'] ?? v['contributions']);
  const reasons = reasonsOf(v['reasons']);
  const score =
    num(v['score']) ?? num(v['value']) ?? (isRec(v['score']) ? num(v['score']['value']) : undefined);
  if (!attributions && !(reasons.length && (score !== undefined || num(v['probability']) !== undefined)))
    return null;
  const item: RiskItem = { label, attributions: attributions ?? [], reasons };
  if (score !== undefined) item.score = score;
  const meaning = v['scoreMeaning'];
  if (typeof meaning === 'string' && (scoreMeanings as readonly string[]).includes(meaning))
    item.meaning = meaning as ScoreMeaning;
  const max = num(v['maxScore']);
  if (max !== undefined) item.maxScore = max;
  const p = num(v['probability']);
  if (p !== undefined) item.probability = p;
  const pts = num(v['points']);
  if (pts !== undefined) item.points = pts;
  const d =
    typeof v['decision'] === 'string'
      ? v['decision']
      : isRec(v['decision']) && typeof v['decision']['outcome'] === 'string'
        ? v['decision']['outcome']
        : undefined;
  if (d) item.decision = d;
  return item;
}

/** Findings located in a text by offsets (PII entities, marketing findings): `{ start, end }` plus a label. */
function spanFindings(v: unknown): PiiEntity[] | null {
  if (!Array.isArray(v) || !v.length) return null;
  const out: PiiEntity[] = [];
  for (const e of v) {
    if (!isRec(e) || typeof e['start'] !== 'number' || typeof e['end'] !== 'number') return null;
    const label = e['type'] ?? e['ruleId'] ?? e['kind'] ?? e['label'];
    if (typeof label !== 'string') return null;
    out.push({
      type: label,
      start: e['start'],
      end: e['end'],
      ...(typeof e['text'] === 'string' ? { text: e['text'] } : {}),
      ...(typeof e['score'] === 'number' ? { score: e['score'] } : {}),
    });
  }
  return out;
}

function isChecklist(v: unknown): v is ChecklistRow[] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((r) => isRec(r) && ('obligation' in r || 'modality' in r || 'requirement' in r))
  );
}

function imageSrc(v: unknown): { src: string; name?: string } | null {
  if (!isRec(v) || typeof v['mimeType'] !== 'string' || typeof v['data'] !== 'string') return null;
  if (!/^image\/(png|jpeg|gif|webp|bmp|svg\+xml)$/.test(v['mimeType'])) return null;
  return {
    src: `data:${v['mimeType']};base64,${v['data']}`,
    ...(typeof v['name'] === 'string' ? { name: v['name'] } : {}),
  };
}

/**
 * Pictures for a bag of named values (a node's outputs or a run's outputs). `context.text` is the text PII
 * offsets refer to (the node's input text). Keys a picture used are not repeated as plain values.
 */
export function picturesFor(bag: Rec, context: { text?: string } = {}): Picture[] {
  const out: Picture[] = [];
  const used = new Set<string>();

  // Portfolio: weights (asset -> weight) with optional performance, at the top or inside one value.
  const scan: [string, Rec][] = [
    ['', bag],
    ...Object.entries(bag).filter((e): e is [string, Rec] => isRec(e[1])),
  ];
  for (const [prefix, rec] of scan) {
    const weights = numberRecord(rec['weights']);
    if (!weights) continue;
    const perf = isRec(rec['performance']) ? rec['performance'] : rec;
    const performance = {
      ...(num(perf['expectedReturn']) !== undefined
        ? { expectedReturn: num(perf['expectedReturn']) as number }
        : {}),
      ...(num(perf['volatility']) !== undefined ? { volatility: num(perf['volatility']) as number } : {}),
      ...(num(perf['sharpe']) !== undefined ? { sharpe: num(perf['sharpe']) as number } : {}),
    };
    out.push({
      kind: 'portfolio',
      key: prefix || 'weights',
      weights,
      ...(Object.keys(performance).length ? { performance } : {}),
    });
    if (prefix) used.add(prefix);
    else {
      used.add('weights');
      if (isRec(rec['performance'])) used.add('performance');
    }
    break;
  }

  for (const [key, value] of Object.entries(bag)) {
    if (used.has(key)) continue;
    // Risk: one scored record, or rows of them (scorecard output).
    if (isRec(value)) {
      const item = riskItem(value, key);
      if (item) {
        out.push({ kind: 'risk', key, items: [item] });
        used.add(key);
        continue;
      }
    }
    if (Array.isArray(value) && value.length && value.every(isRec)) {
      const items = value.map((r, i) => riskItem(r, String(r['id'] ?? r['applicationId'] ?? `#${i + 1}`)));
      if (items.every((x): x is RiskItem => x !== null)) {
        out.push({ kind: 'risk', key, items });
        used.add(key);
        continue;
      }
    }
    const entities = spanFindings(value);
    if (entities) {
      const text = context.text ?? (typeof bag['text'] === 'string' ? bag['text'] : undefined);
      if (text !== undefined) {
        out.push({ kind: 'pii', key, text, entities });
        used.add(key);
        continue;
      }
    }
    if (isChecklist(value)) {
      out.push({ kind: 'checklist', key, rows: value });
      used.add(key);
      continue;
    }
    if (isRec(value) && typeof value['outcome'] === 'string') {
      const { outcome, reasons, ...extra } = value;
      out.push({ kind: 'decision', key, outcome: outcome as string, reasons: reasonsOf(reasons), extra });
      used.add(key);
      continue;
    }
    const img = imageSrc(value);
    if (img) {
      out.push({ kind: 'image', key, ...img });
      used.add(key);
      continue;
    }
    if (Array.isArray(value) && value.length && value.every(isRec)) {
      out.push({ kind: 'table', key, rows: value });
      used.add(key);
      continue;
    }
    if (typeof value === 'string') {
      out.push({ kind: 'text', key, text: value });
      used.add(key);
      continue;
    }
    if (typeof value === 'boolean') {
      out.push({ kind: 'flag', key, value });
      continue;
    }
    const numbers = numberRecord(value);
    if (numbers && numbers.length <= 40) {
      out.push({ kind: 'numbers', key, entries: numbers });
      continue;
    }
    out.push({ kind: 'value', key, value });
  }
  return out;
}

/** Splits a text into plain and highlighted segments for PII entities (overlaps keep the first). */
export function highlightSegments(
  text: string,
  entities: readonly PiiEntity[],
): { text: string; entity?: PiiEntity }[] {
  const sorted = [...entities]
    .filter((e) => e.start >= 0 && e.end <= text.length && e.end > e.start)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const segs: { text: string; entity?: PiiEntity }[] = [];
  let pos = 0;
  for (const e of sorted) {
    if (e.start < pos) continue;
    if (e.start > pos) segs.push({ text: text.slice(pos, e.start) });
    segs.push({ text: text.slice(e.start, e.end), entity: e });
    pos = e.end;
  }
  if (pos < text.length) segs.push({ text: text.slice(pos) });
  return segs;
}
