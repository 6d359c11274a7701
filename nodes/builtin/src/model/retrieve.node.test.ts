import { describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { retrieveNode } from './retrieve.node.js';
import { readDataset } from './test-helpers/datasets.js';
import { startMockServer } from './test-helpers/mock-llm.js';
import { openAiAt, withConnections } from './test-helpers/connections.js';
import { searchTerms } from './text.js';

const gdpr = readDataset('regulatory-text/en_GDPR_articles_5_22_32_33.md');
const regB = readDataset('regulatory-text/en_US_12CFR1002.9_RegB_notifications.md');
const pipl = readDataset('regulatory-text/zh_PIPL_个人信息保护法_2021.md');
const credit = readDataset('regulatory-text/zh_征信业管理条例_2013.md');

const english = [
  { source: 'GDPR Art. 5, 22, 32, 33', text: gdpr },
  { source: 'Regulation B § 1002.9', text: regB },
];
const chinese = [
  { source: '个人信息保护法', text: pipl },
  { source: '征信业管理条例', text: credit },
];

type Row = {
  text: string;
  source: string;
  lineFrom: number;
  lineTo: number;
  relevance: number;
  rank: number;
  page?: number;
  similarity?: number;
};

describe('model.retrieve on English regulations', () => {
  it('finds the breach-notification deadline, citing source and lines, with hybrid ranking', async () => {
    const r = await runNode(retrieveNode, {
      config: { documents: english, topK: 3 },
      inputs: {
        query: 'How soon must a controller notify the supervisory authority of a personal data breach?',
      },
    });
    const out = r.outputs ?? {};
    // The logs say why if the offline embeddings could not load.
    expect(out['index'], JSON.stringify(r.logs)).toMatchObject({ documents: 2, embeddings: 'offline-en' });
    const passages = out['passages'] as Row[];
    const top = passages[0] as Row;
    expect(top.source).toBe('GDPR Art. 5, 22, 32, 33');
    expect(top.text).toContain('not later than 72 hours');
    // Line 59 of the file holds Article 33(1).
    expect(top.lineFrom).toBeLessThanOrEqual(59);
    expect(top.lineTo).toBeGreaterThanOrEqual(59);
    expect(top.similarity).toBeGreaterThan(0.3);
    expect(out['context']).toMatch(/^\[1\] \(GDPR Art\. 5, 22, 32, 33, lines \d+-\d+\) /);
  });

  it('finds the adverse-action notice period in Regulation B', async () => {
    const out = await runNodeOk(retrieveNode, {
      config: { documents: english, embeddings: 'none' },
      inputs: { query: 'Within how many days must a creditor notify an applicant of adverse action?' },
    });
    const top = (out['passages'] as Row[])[0] as Row;
    expect(top.source).toBe('Regulation B § 1002.9');
    expect(top.text).toContain('30 days');
    expect(out['index']).toMatchObject({ embeddings: 'none' });
  });

  it('returns nothing for an unrelated question', async () => {
    const out = await runNodeOk(retrieveNode, {
      config: { documents: english, minRelevance: 0.35 },
      inputs: { query: 'What is the capital of France?' },
    });
    expect(out['passages']).toEqual([]);
    expect(out['context']).toBe('');
  });
});

describe('model.retrieve on Chinese regulations', () => {
  it('ranks by character bigrams and finds the retention period of negative credit records', async () => {
    const out = await runNodeOk(retrieveNode, {
      config: { documents: chinese, topK: 3 },
      inputs: { query: '个人不良信息的保存期限是多久？' },
    });
    const top = (out['passages'] as Row[])[0] as Row;
    expect(top.source).toBe('征信业管理条例');
    expect(top.text).toContain('第十六条');
    expect(top.text).toContain('5年');
    expect(out['index']).toMatchObject({ embeddings: 'none' });
  });

  it('finds the definition of sensitive personal information', async () => {
    const out = await runNodeOk(retrieveNode, {
      config: { documents: chinese },
      inputs: { query: '哪些个人信息属于敏感个人信息' },
    });
    const top = (out['passages'] as Row[])[0] as Row;
    expect(top.source).toBe('个人信息保护法');
    expect(top.text).toContain('第二十八条 敏感个人信息是');
  });

  it('splits Chinese text into overlapping character bigrams', () => {
    expect(searchTerms('保存期限')).toEqual(['保存', '存期', '期限']);
    expect(searchTerms('Credit 征信 reports')).toEqual(['credit', '征信', 'report']);
  });
});

describe('model.retrieve knowledge-base versions', () => {
  it('builds the index once per version and rebuilds when the documents or settings change', async () => {
    const config = { documents: chinese, embeddings: 'none' as const };
    const a = await runNodeOk(retrieveNode, { config, inputs: { query: '查阅复制个人信息' } });
    const b = await runNodeOk(retrieveNode, { config, inputs: { query: '征信机构' } });
    const ia = a['index'] as { id: string; cached: boolean };
    const ib = b['index'] as { id: string; cached: boolean };
    expect(ib.id).toBe(ia.id);
    expect(ib.cached).toBe(true);
    const c = await runNodeOk(retrieveNode, {
      config: { ...config, chunkSize: 400 },
      inputs: { query: '征信机构' },
    });
    expect((c['index'] as { id: string }).id).not.toBe(ia.id);
    const d = await runNodeOk(retrieveNode, {
      config: { ...config, documents: [...chinese, { source: '补充', text: '新增条款。' }] },
      inputs: { query: '征信机构' },
    });
    expect((d['index'] as { id: string; cached: boolean }).cached).toBe(false);
  });

  it('takes documents from the input, keeping page numbers', async () => {
    const out = await runNodeOk(retrieveNode, {
      config: { embeddings: 'none' },
      inputs: {
        query: 'What is the overdraft fee?',
        documents: [
          {
            name: 'tariff.pdf',
            pages: [
              { page: 1, text: 'Schedule of fees for personal current accounts. Monthly account fee: none.' },
              {
                page: 2,
                text: 'An unarranged overdraft fee of £6 applies per day, capped at £30 per month.',
              },
            ],
          },
          'Opening hours: branches open 9:00 to 17:00 on weekdays.',
        ],
      },
    });
    const top = (out['passages'] as Row[])[0] as Row;
    expect(top).toMatchObject({ source: 'tariff.pdf', page: 2 });
    expect(out['context']).toContain('(tariff.pdf, p. 2)');
  });

  it('refuses binary documents, an empty knowledge base and an empty query', async () => {
    const pdf = await runNode(retrieveNode, {
      inputs: {
        query: 'fees',
        documents: { mimeType: 'application/pdf', data: 'JVBERi0xLjQK', name: 'scan.pdf' },
      },
    });
    expect(pdf.error?.code).toBe('DOCUMENT_NOT_TEXT');
    expect(pdf.error?.message).toContain('scan.pdf');
    const empty = await runNode(retrieveNode, { inputs: { query: 'fees' } });
    expect(empty.error?.code).toBe('EMPTY_KNOWLEDGE_BASE');
    const blank = await runNode(retrieveNode, { config: { documents: english }, inputs: { query: '   ' } });
    expect(blank.error?.code).toBe('INVALID_INPUT');
  });
});

describe('model.retrieve with provider embeddings', () => {
  it('embeds passages and the query through an OpenAI-compatible /v1/embeddings', async () => {
    // A bag-of-words embedding stands in for a real model: deterministic and meaningful enough to rank.
    const embed = (text: string) => {
      const v = new Array(64).fill(0) as number[];
      for (const t of searchTerms(text)) {
        let h = 0;
        for (const ch of t) h = (h * 31 + ch.charCodeAt(0)) % 64;
        v[h] = (v[h] ?? 0) + 1;
      }
      return v;
    };
    const server = await startMockServer((req) => {
      const raw = req.body['input'] as string | string[];
      const input = Array.isArray(raw) ? raw : [raw];
      return {
        json: {
          object: 'list',
          model: 'mock-embed',
          data: input.map((t, index) => ({ object: 'embedding', index, embedding: embed(t) })),
          usage: { prompt_tokens: 1, total_tokens: 1 },
        },
      };
    });
    try {
      const out = await runNodeOk(retrieveNode, {
        config: {
          documents: english,
          embeddings: 'connection',
          embeddingConnection: 'embedder',
          embeddingModel: 'mock-embed',
        },
        inputs: { query: 'supervisory authority breach notification 72 hours' },
        ...withConnections({ embedder: openAiAt(server.url) }),
      });
      expect(out['index']).toMatchObject({ embeddings: 'openai' });
      expect((out['passages'] as Row[])[0]?.text).toContain('72 hours');
      expect(server.requests[0]?.path).toBe('/v1/embeddings');
      expect(server.requests[0]?.body['model']).toBe('mock-embed');
    } finally {
      await server.close();
    }
  });
});
