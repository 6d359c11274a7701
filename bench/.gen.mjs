/** A layered DAG: input -> layers of transforms (each fed by one node of the previous layer) -> output. */
export function generateFlowForTrace(n) {
  const width = 12;
  const nodes = [
    {
      id: 'input',
      type: 'io.input',
      version: 1,
      config: { schema: { type: 'object', properties: { x: { type: 'number' } } } },
      ui: { position: { x: 0, y: (width / 2) * 150 } },
    },
  ];
  const edges = [];
  let prev = ['input'];
  let layer = 0;
  while (nodes.length < n - 1) {
    layer += 1;
    const current = [];
    for (let i = 0; i < width && nodes.length < n - 1; i++) {
      const id = `t${layer}_${i}`;
      nodes.push({
        id,
        type: 'data.transform',
        version: 1,
        config: { expression: 'data' },
        ui: { position: { x: layer * 300, y: i * 150 } },
      });
      const from = prev[i % prev.length];
      edges.push({
        id: `e_${id}`,
        from: { node: from, port: from === 'input' ? 'value' : 'result' },
        to: { node: id, port: 'data' },
      });
      current.push(id);
    }
    prev = current;
  }
  nodes.push({
    id: 'output',
    type: 'io.output',
    version: 1,
    config: { name: 'result' },
    ui: { position: { x: (layer + 1) * 300, y: 0 } },
  });
  edges.push({ id: 'e_out', from: { node: prev[0], port: 'result' }, to: { node: 'output', port: 'value' } });
  return {
    schemaVersion: 1,
    id: 'bench_500',
    name: `Benchmark ${n} nodes`,
    description: 'generated',
    nodes,
    edges,
    ui: { notes: [] },
  };
}

