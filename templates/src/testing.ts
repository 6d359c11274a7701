/**
 * Golden-test support for templates: a deterministic chat model to inject in place of an LLM, running a
 * template's fixtures through the runtime, and comparing outputs with the expected files (numbers to 1e-9).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BaseMessage } from '@langchain/core/messages';
import { SimpleChatModel } from '@langchain/core/language_models/chat_models';
import {
  createRuntime,
  MemoryRunStore,
  type RunResult,
  type Services,
  type WaitingNode,
} from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import type { Template, TemplateFixture } from './index.js';

function text(message: BaseMessage): string {
  return typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
}

/**
 * Replies with a fixed marker and a fingerprint of the prompt it received (its length and first line), so a
 * golden file shows exactly which prompt reached the model, and changes when the prompt does.
 */
export class DeterministicChatModel extends SimpleChatModel {
  static override lc_name() {
    return 'DeterministicChatModel';
  }
  _llmType(): string {
    return 'deterministic-test';
  }
  async _call(messages: BaseMessage[]): Promise<string> {
    const last = messages.at(-1);
    const prompt = last ? text(last) : '';
    const firstLine = prompt.split('\n').find((l) => l.trim()) ?? '';
    // Prompts with numbered passages get a citation of the first, as an answering model would give.
    const passage = /^\[(\d+)\]/m.exec(prompt)?.[1];
    const cite = passage ? ` [${passage}]` : '';
    // A model answers in the language it is asked in; so does this one (Chinese prompts get a Chinese reply).
    const cjk = (prompt.match(/[\u4e00-\u9fff]/g) ?? []).length;
    if (cjk > prompt.length / 10) {
      return `[deterministic test model] 对一个 ${prompt.length} 字符提示的回复，提示开头为「${firstLine.slice(0, 60)}」${cite}`;
    }
    return `[deterministic test model] reply to a ${prompt.length}-character prompt beginning "${firstLine.slice(0, 60)}"${cite}`;
  }
}

export const deterministicModels: NonNullable<Services['models']> = {
  chatModel: () => new DeterministicChatModel({}),
};

export type ModelMode = 'deterministic' | 'offline';

/** A fixture's run, and the review tasks it waited for on the way (resumed with the fixture's decisions). */
export interface FixtureRun {
  result: RunResult;
  reviewed: WaitingNode[];
}

/**
 * Runs one fixture; `deterministic` injects the test model, `offline` uses the product's offline default. A run
 * that waits for a human review is resumed with the fixture's decisions (`<name>.review.json`), as a reviewer
 * deciding in the inbox would; without a decision for a waiting node it stays waiting.
 */
export async function runFixtureReviewed(
  template: Template,
  fixture: TemplateFixture,
  mode: ModelMode,
): Promise<FixtureRun> {
  const services: Partial<Services> = mode === 'deterministic' ? { models: deterministicModels } : {};
  const store = new MemoryRunStore();
  const runtime = createRuntime({ registry: createBuiltinRegistry(), services, store });
  let result = await runtime.run(template.flow, fixture.input);
  const reviewed: WaitingNode[] = [];
  while (result.status === 'waiting') {
    const waiting = (result.waiting ?? []).filter((w) => fixture.decisions?.[w.nodeId] !== undefined);
    if (waiting.length === 0) break;
    reviewed.push(...waiting);
    const decisions = Object.fromEntries(waiting.map((w) => [w.nodeId, fixture.decisions?.[w.nodeId]]));
    result = await runtime.resume(template.flow, store.events(result.runId), decisions).result;
  }
  return { result, reviewed };
}

/** Runs one fixture (resumed with its reviewers' decisions, if it has any) and returns how it ended. */
export async function runFixture(
  template: Template,
  fixture: TemplateFixture,
  mode: ModelMode,
): Promise<RunResult> {
  return (await runFixtureReviewed(template, fixture, mode)).result;
}

/** Differences between actual and expected values (numbers compared to 1e-9 relative), as readable paths. */
export function goldenDiff(actual: unknown, expected: unknown, path = '$'): string[] {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tol = 1e-9 * Math.max(1, Math.abs(expected));
    return Math.abs(actual - expected) <= tol ? [] : [`${path}: ${actual} ≠ ${expected}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected a list`];
    const diffs =
      actual.length === expected.length ? [] : [`${path}: ${actual.length} items ≠ ${expected.length}`];
    expected.forEach((e, i) => diffs.push(...goldenDiff(actual[i], e, `${path}[${i}]`)));
    return diffs;
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual))
      return [`${path}: expected an object`];
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const diffs: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(e)])) {
      if (!(k in e)) diffs.push(`${path}.${k}: unexpected`);
      else if (!(k in a)) diffs.push(`${path}.${k}: missing`);
      else diffs.push(...goldenDiff(a[k], e[k], `${path}.${k}`));
    }
    return diffs;
  }
  return Object.is(actual, expected)
    ? []
    : [`${path}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`];
}

/** Writes a fixture's expected file (FINFLOW_UPDATE_GOLDEN=1 when a change of output is intended and reviewed). */
export function writeExpected(template: Template, fixture: TemplateFixture, outputs: unknown): void {
  writeFileSync(
    join(template.dir, 'fixtures', `${fixture.name}.expected.json`),
    `${JSON.stringify(outputs, null, 2)}\n`,
  );
}
