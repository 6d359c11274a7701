import { describe, expect, it } from 'vitest';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { inputNode } from '../io/input.node.js';
import { outputNode } from '../io/output.node.js';
import { answerNode } from './answer.node.js';
import { OFFLINE_MARKER } from './extractive.js';
import { retrieveNode } from './retrieve.node.js';
import type { ModelProvider } from './services.js';
import { openAiAt, withConnections } from './test-helpers/connections.js';
import { readDataset } from './test-helpers/datasets.js';

const documents = [
  { source: 'GDPR Art. 5, 22, 32, 33', text: readDataset('regulatory-text/en_GDPR_articles_5_22_32_33.md') },
  {
    source: 'Regulation B § 1002.9',
    text: readDataset('regulatory-text/en_US_12CFR1002.9_RegB_notifications.md'),
  },
];
const chinese = [
  { source: '征信业管理条例', text: readDataset('regulatory-text/zh_征信业管理条例_2013.md') },
];

async function passagesFor(question: string, docs = documents): Promise<Record<string, unknown>[]> {
  const out = await runNodeOk(retrieveNode, {
    config: { documents: docs, embeddings: 'none' },
    inputs: { query: question },
  });
  return out['passages'] as Record<string, unknown>[];
}

const noModel: ModelProvider = {
  chatModel() {
    throw new Error('the model must not be called');
  },
};

describe('model.answer with the offline default', () => {
  it('answers with quoted sentences and citations to the passages they came from', async () => {
    const question =
      'How soon must the controller notify the supervisory authority of a personal data breach?';
    const out = await runNodeOk(answerNode, { inputs: { question, passages: await passagesFor(question) } });
    const answer = out['answer'] as string;
    // A paragraph of the passages' own sentences: no marker, numbering or figures list (`model` says no LLM).
    expect(answer).not.toContain(OFFLINE_MARKER);
    expect(answer).not.toMatch(/^\d\. |Amounts:|Percentages:/m);
    expect(answer).toMatch(/not later than 72 hours after having become aware of it.*\[1\]/);
    expect(out['refused']).toBe(false);
    const citations = out['citations'] as { n: number; source: string; text: string; lineFrom: number }[];
    expect(citations[0]).toMatchObject({ n: 1, source: 'GDPR Art. 5, 22, 32, 33' });
    expect(citations[0]?.text).toContain('72 hours');
    expect(out['model']).toBe('offline-extractive (no LLM)');
  });

  it('answers in Chinese from Chinese passages', async () => {
    const question = '个人不良信息的保存期限是多久？';
    const out = await runNodeOk(answerNode, {
      inputs: { question, passages: await passagesFor(question, chinese) },
    });
    expect(out['refused']).toBe(false);
    expect(out['answer']).toMatch(/自不良行为或者事件终止之日起为5年.*\[1\]/);
  });

  it('refuses without calling a model when no passage is relevant enough', async () => {
    const question = 'What is the interest rate on my mortgage?';
    const r = await runNode(answerNode, {
      config: { provider: 'connection', connection: 'llm', model: 'gpt-4o-mini' },
      inputs: { question, passages: await passagesFor(question) },
      services: {
        models: noModel,
        ...withConnections({ llm: openAiAt('http://127.0.0.1:9', { credential: 'k' }) }).services,
      },
      secrets: { k: 'sk-test-key-123456' },
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toMatchObject({
      answer: 'The knowledge base does not contain an answer to this question.',
      refused: true,
      citations: [],
    });
  });

  it('refuses when given no passages at all', async () => {
    const out = await runNodeOk(answerNode, {
      config: { refusal: '知识库中没有相关内容。' },
      inputs: { question: '什么是征信？', passages: [] },
    });
    expect(out).toMatchObject({ answer: '知识库中没有相关内容。', refused: true });
  });
});

describe('model.answer with an LLM', () => {
  const local = withConnections({
    local: { kind: 'ollama', baseUrl: 'http://127.0.0.1:11434', deployment: 'private' },
  }).services;

  it('instructs the model to cite and refuse, keeps valid citations and drops invented ones', async () => {
    const model = new FakeListChatModel({
      responses: [
        'The controller must notify within 72 hours of becoming aware of the breach [1][2], see also [9].',
      ],
    });
    const models: ModelProvider = { chatModel: () => model };
    const question =
      'How soon must the controller notify the supervisory authority of a personal data breach?';
    const passages = await passagesFor(question);
    const r = await runNode(answerNode, {
      config: { provider: 'connection', connection: 'local', model: 'qwen2.5:7b' },
      inputs: { question, passages },
      services: { models, ...local },
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs?.['answer']).toBe(
      'The controller must notify within 72 hours of becoming aware of the breach [1][2], see also .',
    );
    expect((r.outputs?.['citations'] as { n: number }[]).map((c) => c.n)).toEqual([1, 2]);
    expect(r.logs.some((l) => l.level === 'warn' && l.message.includes('not given'))).toBe(true);
    expect(r.streamed.join('')).toContain('72 hours');
  });

  it('reports the model refusing', async () => {
    const question =
      'How soon must the controller notify the supervisory authority of a personal data breach?';
    const models: ModelProvider = {
      chatModel: () =>
        new FakeListChatModel({
          responses: ['The knowledge base does not contain an answer to this question.'],
        }),
    };
    const out = await runNodeOk(answerNode, {
      config: { provider: 'connection', connection: 'local', model: 'm' },
      inputs: { question, passages: await passagesFor(question) },
      services: { models, ...local },
    });
    expect(out['refused']).toBe(true);
    expect(out['citations']).toEqual([]);
  });

  it('runs as a flow: question → retrieve → answer → output', async () => {
    const runtime = createRuntime({
      registry: createRegistry([inputNode, retrieveNode, answerNode, outputNode]),
    });
    const result = await runtime.run(
      {
        schemaVersion: 1,
        id: 'kb_answer',
        name: 'Knowledge-base answer',
        nodes: [
          {
            id: 'in',
            type: 'io.input',
            version: 1,
            config: {
              schema: {
                type: 'object',
                properties: { question: { type: 'string' } },
                required: ['question'],
              },
            },
          },
          { id: 'kb', type: 'model.retrieve', version: 1, config: { documents, embeddings: 'none' } },
          { id: 'qa', type: 'model.answer', version: 1, config: {} },
          { id: 'out', type: 'io.output', version: 1, config: { name: 'answer' } },
        ],
        edges: [
          { id: 'e1', from: { node: 'in', port: 'question' }, to: { node: 'kb', port: 'query' } },
          { id: 'e2', from: { node: 'in', port: 'question' }, to: { node: 'qa', port: 'question' } },
          { id: 'e3', from: { node: 'kb', port: 'passages' }, to: { node: 'qa', port: 'passages' } },
          { id: 'e4', from: { node: 'qa', port: 'answer' }, to: { node: 'out', port: 'value' } },
        ],
      },
      {
        question:
          'Within how many days must a creditor notify an applicant of adverse action on an existing account?',
      },
    );
    expect(result.status).toBe('succeeded');
    expect(result.outputs['answer']).toMatch(
      /30 days after taking adverse action on an existing account.*\[\d\]/,
    );
  });
});
