// The flows the server benches publish: a 3-node score (input, one transform, output) and a chain of CHAIN_STEPS + 1
// transforms whose last step decides, each answering what endpoint.bench.mjs's bare Express handlers answer. One
// definition, so the endpoint, Postgres and queue benches measure the same work.
import { edge } from './finflow.mjs';

export const CHAIN_STEPS = 18;
const STEPS = CHAIN_STEPS;

export const inputNode = {
  id: 'in',
  type: 'io.input',
  version: 1,
  config: {
    schema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        income: { type: 'number' },
        debt: { type: 'number' },
        age: { type: 'integer' },
        months: { type: 'integer' },
      },
      required: ['income', 'debt'],
    },
  },
};

export function smallFlow() {
  return {
    schemaVersion: 1,
    id: 'small',
    name: 'Score (3 nodes)',
    nodes: [
      inputNode,
      {
        id: 'score',
        type: 'data.transform',
        version: 1,
        config: {
          expression:
            '( $s := $round(data.income / (data.debt + 1), 2); { "score": $s, "outcome": $s >= 3 ? "approve" : "review" } )',
        },
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
    ],
    edges: [edge('e1', 'in', 'value', 'score', 'data'), edge('e2', 'score', 'result', 'out', 'value')],
  };
}

export function chainFlow() {
  const nodes = [
    inputNode,
    {
      id: 's0',
      type: 'data.transform',
      version: 1,
      config: {
        expression:
          '{ "score": $round(data.income / (data.debt + 1), 2), "age": data.age, "months": data.months }',
      },
    },
  ];
  const edges = [edge('e0', 'in', 'value', 's0', 'data')];
  for (let i = 1; i < STEPS; i++) {
    nodes.push({
      id: `s${i}`,
      type: 'data.transform',
      version: 1,
      config: {
        expression: `{ "score": $round(data.score * 1.01 + ${i}, 2), "age": data.age, "months": data.months }`,
      },
    });
    edges.push(edge(`e${i}`, `s${i - 1}`, 'result', `s${i}`, 'data'));
  }
  // The last step folds in step 18 and the decision, like the bare handler's last iteration and outcome.
  nodes.push({
    id: `s${STEPS}`,
    type: 'data.transform',
    version: 1,
    config: {
      expression: `( $s := $round(data.score * 1.01 + ${STEPS}, 2); { "score": $s, "outcome": $s >= 3 ? "approve" : "review" } )`,
    },
  });
  edges.push(edge(`e${STEPS}`, `s${STEPS - 1}`, 'result', `s${STEPS}`, 'data'));
  nodes.push({ id: 'out', type: 'io.output', version: 1, config: { name: 'result' } });
  edges.push(edge('eout', `s${STEPS}`, 'result', 'out', 'value'));
  return { schemaVersion: 1, id: 'chain', name: 'Score (20 nodes)', nodes, edges };
}
