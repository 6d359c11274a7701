// The peer harness's echo and chain20 workloads (../shared/bench-peers/finflow/flows.mjs, issue 18) for the
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
