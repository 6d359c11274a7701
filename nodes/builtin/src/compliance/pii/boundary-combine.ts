/**
 * How the span-boundary model (boundary-model.ts) joins the recognisers' findings. The recognisers decide what
 * is a name or an address; the model moves a finding's first or last element where it is surer of another span
 * by at least a margin, and adds a span the recognisers missed where its probability is high. Both settings are
 * chosen per type by cross-validation on the development split (train-boundary-model.mjs) and stored with the
 * weights. Moving a boundary never shrinks a finding to nothing and never runs into another finding; the
 * model's probability joins the finding's score (the larger of the two), so a finding it confirms is kept at
 * any threshold the recogniser's evidence alone passed. A name the person model doubted (scored below the
 * detection threshold but not far below it) is added where the model, reading the same span in context, agrees:
 * the two are independent readings (character and cue statistics against token context), so their evidence is
 * joined as a noisy-or and the name kept when that reaches the type's agreement threshold.
 */
import type { BoundaryAnalysis, BoundaryType } from './boundary-model.js';
import type { PiiEntity } from './detect.js';

export interface CombineSettings {
  /** A boundary moves when the model's probability of the moved span exceeds the finding's by this much. */
  adjustMargin: number;
  /** A span of the model's that overlaps no finding is added when its probability is at least this. */
  addThreshold: number;
  /**
   * A doubted candidate (below the detection threshold) is added when 1 - (1 - its score)(1 - the model's
   * probability of exactly its span) is at least this.
   */
  agreeThreshold: number;
  /**
   * Names only: the lowest score of the person model's at which a candidate is doubted (kept for the model to
   * confirm) rather than dropped; absent, DEFAULT_DOUBT_FLOOR.
   */
  doubtFloor?: number;
}

/** The doubt floor of weights files written before it was chosen by cross-validation. */
export const DEFAULT_DOUBT_FLOOR = 0.1;

export type CombinePolicy = Record<BoundaryType, CombineSettings>;

/** No model at all: the settings that leave the recognisers' findings as they are. */
export const OFF: CombinePolicy = {
  PERSON: { adjustMargin: Infinity, addThreshold: Infinity, agreeThreshold: Infinity },
  ADDRESS: { adjustMargin: Infinity, addThreshold: Infinity, agreeThreshold: Infinity },
};

/** Whether a policy does anything at all (else the model need not read the text). */
export function policyActive(policy: CombinePolicy): boolean {
  return Object.values(policy).some(
    (p) =>
      Number.isFinite(p.adjustMargin) || Number.isFinite(p.addThreshold) || Number.isFinite(p.agreeThreshold),
  );
}

/** The model's spans longer than this are not used (the address grammars read at most 120 characters). */
const MAX_SPAN = 160;

/**
 * The findings with boundaries moved and spans added by the model, in text order. Linear in the text: which
 * finding and which model span cover each character is kept in two arrays, so a text with thousands of findings
 * never compares every pair. `doubted` are the recognisers' candidates that scored below the detection threshold.
 */
export function combineWithBoundaries(
  text: string,
  findings: readonly PiiEntity[],
  analysis: BoundaryAnalysis,
  policy: CombinePolicy,
  doubted: readonly PiiEntity[] = [],
): PiiEntity[] {
  const out = findings.map((f) => ({ ...f }));
  const spans = analysis.spans.filter((s) => s.end - s.start <= MAX_SPAN);
  const owner = new Int32Array(text.length).fill(-1);
  out.forEach((f, k) => owner.fill(k, f.start, f.end));
  const spanAt = new Int32Array(text.length).fill(-1);
  spans.forEach((s, k) => spanAt.fill(k, s.start, s.end));
  /** Whether text[start, end) is free of findings other than number `k`. */
  const free = (start: number, end: number, k: number) => {
    for (let i = start; i < end; i++) if (owner[i] !== -1 && owner[i] !== k) return false;
    return true;
  };
  out.forEach((f, k) => {
    if (f.type !== 'PERSON' && f.type !== 'ADDRESS') return;
    const current = analysis.probability(f.type, f.start, f.end);
    // The model's probability of exactly this span joins the recogniser's score: a span both find stays above
    // any threshold either passes.
    f.score = Math.max(f.score, Math.round(current * 100) / 100);
    if (!Number.isFinite(policy[f.type].adjustMargin)) return;
    const views = new Set<number>();
    for (let i = f.start; i < f.end; i++) if ((spanAt[i] as number) >= 0) views.add(spanAt[i] as number);
    if (views.size !== 1) return;
    const v = spans[[...views][0] as number] as (typeof spans)[number];
    if (v.type !== f.type) return;
    let best = { start: f.start, end: f.end, p: current };
    for (const [start, end] of [
      [v.start, v.end],
      [v.start, f.end],
      [f.start, v.end],
    ] as const) {
      if (end <= start) continue;
      const p = analysis.probability(f.type, start, end);
      if (p > best.p) best = { start, end, p };
    }
    if (best.p - current < policy[f.type].adjustMargin || !free(best.start, best.end, k)) return;
    owner.fill(-1, f.start, f.end);
    owner.fill(k, best.start, best.end);
    f.start = best.start;
    f.end = best.end;
    f.text = text.slice(best.start, best.end);
    f.score = Math.max(f.score, Math.round(best.p * 100) / 100);
  });
  for (const s of spans) {
    if (s.probability < policy[s.type].addThreshold || !free(s.start, s.end, -1)) continue;
    owner.fill(out.length, s.start, s.end);
    out.push({
      type: s.type,
      start: s.start,
      end: s.end,
      text: text.slice(s.start, s.end),
      score: Math.round(s.probability * 100) / 100,
    });
  }
  // Doubted candidates the model agrees with, the most likely first (overlapping readings of one name: the best).
  const agreed = doubted
    .filter((d) => Number.isFinite(policy[d.type as BoundaryType]?.agreeThreshold))
    .map((d) => {
      const q = analysis.probability(d.type as BoundaryType, d.start, d.end);
      return { d, joint: 1 - (1 - d.score) * (1 - q) };
    })
    .filter(({ d, joint }) => joint >= (policy[d.type as BoundaryType] as CombineSettings).agreeThreshold)
    .sort((a, b) => b.joint - a.joint);
  for (const { d, joint } of agreed) {
    if (!free(d.start, d.end, -1)) continue;
    owner.fill(out.length, d.start, d.end);
    out.push({ ...d, score: Math.round(joint * 100) / 100 });
  }
  return out.sort((a, b) => a.start - b.start);
}
