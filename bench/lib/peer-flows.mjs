// The peer harness's echo, chain20 and fanout workloads (../shared/bench-peers/finflow/flows.mjs, issue 18) for the
// in-process benches: the same expressions, so an in-process figure measures the work the harness's servers do.
const W = [0.3, 0.25, 0.2, 0.15, 0.1];
const K = ['a', 'b', 'c', 'd', 'e'];
const scoreExpr = (v, rot = 0) => K.map((k, i) => `${W[(i + rot) % 5]} * ${v}.${k}`).join(' + ');
const schema = {
  type: 'object',
  properties: Object.fromEntries([['id', { type: 'string' }], ...K.map((k) => [k, { type: 'number' }])]),
  required: K,
};
const input = { id: 'in', type: 'io.input', version: 1, config: { schema } };
const output = { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } };
const edge = (id, fn, fp, tn, tp) => ({ id, from: { node: fn, port: fp }, to: { node: tn, port: tp } });
const doc = (id, nodes, edges) => ({ schemaVersion: 1, id, name: `bench ${id}`, nodes, edges });

/** The request body every workload answers (a fresh object, as a parsed request is). */
export const peerBody = () => ({ id: 'req-1', a: 12.5, b: 7, c: 3.25, d: 40, e: 1.5 });

export function echo() {
  return doc(
    'echo',
    [
      input,
      {
        id: 't',
        type: 'data.transform',
        version: 1,
        config: { expression: `{"score": ${scoreExpr('data')}}` },
      },
      output,
    ],
    [edge('e1', 'in', 'value', 't', 'data'), edge('e2', 't', 'result', 'out', 'value')],
  );
}

export function chain20() {
  const nodes = [input];
  const edges = [];
  let prev = ['in', 'value'];
  for (let k = 1; k <= 20; k++) {
    const add = k === 20 ? `{"f20": 400, "score": ${scoreExpr('data')}}` : `{"f${k}": ${k * k}}`;
    nodes.push({
      id: `s${k}`,
      type: 'data.transform',
      version: 1,
      config: { expression: `$merge([data, ${add}])` },
    });
    edges.push(edge(`e${k}`, prev[0], prev[1], `s${k}`, 'data'));
    prev = [`s${k}`, 'result'];
  }
  nodes.push(output);
  edges.push(edge('eout', prev[0], prev[1], 'out', 'value'));
  return doc('chain20', nodes, edges);
}

export function fanout() {
  const nodes = [input];
  const edges = [];
  const names = [];
  for (let k = 0; k < 8; k++) {
    nodes.push({
      id: `b${k}`,
      type: 'data.transform',
      version: 1,
      config: { expression: `{"k": ${k}, "s": ${scoreExpr('data', k)}}` },
    });
    edges.push(
      edge(`ein${k}`, 'in', 'value', `b${k}`, 'data'),
      edge(`ej${k}`, `b${k}`, 'result', 'join', `b${k}`),
    );
    names.push(`b${k}`);
  }
  nodes.push({ id: 'join', type: 'logic.merge', version: 1, config: { inputs: names, mode: 'collect' } });
  // As the harness: the scores in branch order, the first index of the largest, their sum.
  const reduce =
    `($s := [${names.map((n) => `data.${n}.s`).join(', ')}]; ` +
    `{"scores": $s, "best": $reduce([1..7], function($b, $i) { $s[$i] > $s[$b] ? $i : $b }, 0), "total": $sum($s)})`;
  nodes.push({ id: 'reduce', type: 'data.transform', version: 1, config: { expression: reduce } });
  nodes.push(output);
  edges.push(
    edge('ejr', 'join', 'value', 'reduce', 'data'),
    edge('eout', 'reduce', 'result', 'out', 'value'),
  );
  return doc('fanout', nodes, edges);
}
