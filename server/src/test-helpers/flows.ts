/** Flow documents written by hand with the core nodes, for the server tests. */

export const applicantSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    income: { type: 'number', minimum: 0 },
    debt: { type: 'number', minimum: 0 },
  },
  required: ['name', 'income', 'debt'],
};

const edge = (id: string, from: string, fromPort: string, to: string, toPort: string) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
});

/** input -> score (data.transform) -> branch on the score -> approve / review outputs. */
export function scoringFlow(name = 'Credit pre-screen') {
  return {
    schemaVersion: 1,
    id: 'scoring',
    name,
    description: 'Debt-to-income score with a decision',
    nodes: [
      { id: 'in', type: 'io.input', version: 1, config: { schema: applicantSchema } },
      {
        id: 'score',
        type: 'data.transform',
        version: 1,
        config: {
          expression:
            '{ "name": data.name, "score": $round(data.income / (data.debt + 1), 2), "ratio": $round(data.debt / data.income, 3) }',
        },
      },
      { id: 'decide', type: 'logic.branch', version: 1, config: { condition: 'value.score >= 3' } },
      {
        id: 'approve',
        type: 'data.transform',
        version: 1,
        config: { expression: '{ "outcome": "approve", "score": data.score }' },
      },
      {
        id: 'review',
        type: 'data.transform',
        version: 1,
        config: {
          expression:
            '{ "outcome": "review", "score": data.score, "reasons": ["debt ratio " & $string(data.ratio)] }',
        },
      },
      {
        id: 'outApprove',
        type: 'io.output',
        version: 1,
        config: { name: 'decision', schema: { type: 'object' } },
      },
      { id: 'outReview', type: 'io.output', version: 1, config: { name: 'review' } },
    ],
    edges: [
      edge('e1', 'in', 'value', 'score', 'data'),
      edge('e2', 'score', 'result', 'decide', 'value'),
      edge('e3', 'decide', 'true', 'approve', 'data'),
      edge('e4', 'decide', 'false', 'review', 'data'),
      edge('e5', 'approve', 'result', 'outApprove', 'value'),
      edge('e6', 'review', 'result', 'outReview', 'value'),
    ],
  };
}

/** input -> custom.sleep -> output: a run that stays in flight for `ms`. */
export function slowFlow(ms: number, name = 'Slow flow') {
  return {
    schemaVersion: 1,
    id: 'slow',
    name,
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: { schema: { type: 'object', properties: { n: { type: 'number' } } } },
      },
      { id: 'wait', type: 'custom.sleep', version: 1, config: { ms } },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'value' } },
    ],
    edges: [edge('e1', 'in', 'value', 'wait', 'value'), edge('e2', 'wait', 'value', 'out', 'value')],
  };
}

/** A flow that reads a credential through ctx.secret. */
export function secretFlow(credential: string) {
  return {
    schemaVersion: 1,
    id: 'secret',
    name: 'Uses a credential',
    nodes: [
      { id: 'in', type: 'io.input', version: 1, config: { schema: { type: 'object', properties: {} } } },
      { id: 'use', type: 'custom.secretLength', version: 1, config: { credential } },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'length' } },
    ],
    edges: [edge('e1', 'in', 'value', 'use', 'value'), edge('e2', 'use', 'length', 'out', 'value')],
  };
}

/**
 * A loan decision with a human review: amounts above 10,000 go to `human.review` (queue `underwriting`), the
 * rest are approved automatically; either way the flow's output `decision` is the final one. The applicant's
 * name is personal data (masked in records and in the review task); feedback names the decision by its
 * application id and labels it `{ defaulted }`.
 */
export function reviewFlow(review: Record<string, unknown> = {}, name = 'Loan with review') {
  return {
    schemaVersion: 1,
    id: 'review',
    name,
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: {
            type: 'object',
            properties: {
              applicationId: { type: 'string' },
              name: { type: 'string' },
              amount: { type: 'number' },
            },
            required: ['applicationId', 'name', 'amount'],
          },
        },
      },
      {
        id: 'auto',
        type: 'data.transform',
        version: 1,
        config: {
          expression:
            '{ "outcome": data.amount > 10000 ? "review" : "approve", "reasons": data.amount > 10000 ? ["amount " & $string(data.amount) & " above 10000"] : [], "factors": [{ "name": "amount", "weight": 0.7 }] }',
        },
      },
      { id: 'gate', type: 'logic.branch', version: 1, config: { condition: "value.outcome = 'review'" } },
      {
        id: 'case',
        type: 'data.transform',
        version: 1,
        config: {
          expression: '{ "applicationId": input.applicationId, "name": input.name, "amount": input.amount }',
        },
      },
      {
        id: 'review',
        type: 'human.review',
        version: 1,
        config: {
          queue: 'underwriting',
          title: '=input.applicationId',
          summary: ['applicationId', 'amount'],
          outcomes: ['approve', 'decline', 'counter-offer'],
          editableFields: ['amount'],
          ...review,
        },
      },
      {
        id: 'final',
        type: 'logic.merge',
        version: 1,
        config: { inputs: ['auto', 'reviewed'], mode: 'first' },
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'decision' } },
    ],
    edges: [
      edge('e1', 'in', 'value', 'auto', 'data'),
      edge('e2', 'auto', 'result', 'gate', 'value'),
      edge('e3', 'gate', 'true', 'case', 'data'),
      edge('e4', 'case', 'result', 'review', 'case'),
      edge('e5', 'gate', 'true', 'review', 'decision'),
      edge('e6', 'gate', 'false', 'final', 'auto'),
      edge('e7', 'review', 'decision', 'final', 'reviewed'),
      edge('e8', 'final', 'value', 'out', 'value'),
    ],
    settings: {
      redact: { inputPaths: ['name'], nodes: [] },
      feedback: {
        businessKey: 'applicationId',
        predictionPath: 'decision.outcome',
        labelSchema: {
          type: 'object',
          properties: { defaulted: { type: 'boolean' }, monthsObserved: { type: 'integer', minimum: 0 } },
          required: ['defaulted'],
          additionalProperties: false,
        },
      },
    },
  };
}

/** input -> custom.deep -> output: a node output nested `depth` levels deep. */
export function deepOutputFlow(depth: number) {
  return {
    schemaVersion: 1,
    id: 'deep',
    name: 'Deep output',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: { schema: { type: 'object', properties: { note: { type: 'string' } } } },
      },
      { id: 'deep', type: 'custom.deep', version: 1, config: { depth } },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'value' } },
    ],
    edges: [edge('e1', 'in', 'value', 'deep', 'value'), edge('e2', 'deep', 'value', 'out', 'value')],
  };
}
