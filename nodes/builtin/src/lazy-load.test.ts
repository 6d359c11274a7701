// The built-in nodes' heavy implementations load on a node's first run, not with the catalog (issue 18: a server
// serving endpoints carries only the definitions). This follows the static imports from the package's entry and
// fails when one of them reaches an engine again; the nodes' own tests (scorecard.node.test.ts on German Credit, fraud-score.node.test.ts,
// test/integration/federated-example.test.ts) run each node through its first load.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = import.meta.dirname;

/** Files reached from `entry` through static value imports and re-exports (not `import type`, not `import()`). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?'(\.[^']+)'/gm)) {
      if (m[1]) continue;
      pending.push(resolve(dirname(file), (m[2] as string).replace(/\.js$/, '.ts')));
    }
  }
  return new Set([...seen].map((f) => relative(src, f)));
}

describe('lazy node implementations', () => {
  it('keeps the engines out of what the package entry loads', () => {
    const loaded = staticGraph(join(src, 'index.ts'));
    // The definitions are there (the catalog and validation need them)...
    expect(loaded).toContain('risk/scorecard.node.ts');
    expect(loaded).toContain('risk/fraud-score.node.ts');
    expect(loaded).toContain('risk/federated-scorecard.node.ts');
    // ...their engines are not.
    for (const engine of [
      'risk/ml/scorecard.ts',
      'risk/ml/fraud.ts',
      'risk/ml/gbt.ts',
      'risk/federated/coordinator.ts',
      'risk/federated/holder.ts',
      'risk/federated/http-holder.ts',
    ])
      expect(loaded, engine).not.toContain(engine);
  });

  it('keeps PII detection and the classifier out of what the model and multimodal definitions load', () => {
    // A model node's call is classified (personal data found raises its class) when it is made, not at import.
    for (const entry of ['model/index.ts', 'multimodal/index.ts']) {
      const loaded = staticGraph(join(src, entry));
      expect(loaded).toContain('net/connections.ts');
      expect(loaded, entry).not.toContain('compliance/pii/detect.ts');
    }
    // The offline classifier's maths loads when model.classify or model.trainClassifier first runs.
    expect(staticGraph(join(src, 'model/index.ts'))).not.toContain('model/classifier.ts');
  });
});
