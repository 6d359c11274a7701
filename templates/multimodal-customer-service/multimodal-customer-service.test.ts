import { readFileSync } from 'node:fs';
import { SimpleChatModel } from '@langchain/core/language_models/chat_models';
import { createRuntime, type Services } from '@finflow/runtime';
import { createBuiltinRegistry, type ReviewTask } from '@finflow/nodes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTemplate, type TemplateFixture } from '../src/index.js';
import { runFixture, runFixtureReviewed } from '../src/testing.js';

const dir = new URL('./', import.meta.url);
const template = loadTemplate(new URL('.', dir).pathname);

interface Reply {
  intent: string;
  confidence: number;
  language: 'zh' | 'en';
  answer: string;
  citations: { n: number; source: string }[];
  model: string;
  marketingCheck: { outcome: string };
  maskedMessage: string;
  received: { kind: string; ok: boolean; engine?: string; quality?: string }[];
}
interface Handoff {
  reasonCodes: string[];
  queue: string;
  priority: string;
  intent: string;
  language: string;
  maskedMessage: string;
  personalDataMasked?: Record<string, number>;
  draftAnswer?: string;
  customerNotice: string;
}
interface AgentReview {
  queue: string;
  action: string;
  outcome: 'replied' | 'escalated';
  reason: string;
  reviewers: { id: string; name: string }[];
}
type Outputs = {
  reply?: Reply & { sentBy?: string; agent?: string };
  handoff?: Handoff;
  agentReview?: AgentReview;
};

function fixture(name: string): TemplateFixture {
  const f = template.fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
}

async function run(input: unknown, services: Partial<Services> = {}): Promise<Outputs> {
  const runtime = createRuntime({ registry: createBuiltinRegistry(), services });
  const result = await runtime.run(template.flow, input);
  expect(result.error, JSON.stringify(result.error)).toBeUndefined();
  return result.outputs as Outputs;
}

async function runNamed(name: string): Promise<Outputs> {
  const result = await runFixture(template, fixture(name), 'offline');
  expect(result.error, JSON.stringify(result.error)).toBeUndefined();
  return result.outputs as Outputs;
}

type FlowNode = { id: string; config: Record<string, unknown> };
const nodeConfig = (id: string) =>
  (template.flow['nodes'] as FlowNode[]).find((n) => n.id === id)?.config as Record<string, unknown>;

/** A chat model that writes a promotional answer, to show the marketing check stopping it. */
class PromisingModel extends SimpleChatModel {
  static override lc_name() {
    return 'PromisingModel';
  }
  _llmType(): string {
    return 'promising-test';
  }
  async _call(): Promise<string> {
    return 'Freeze the card in the app [1]. Also, our new savings plan offers guaranteed returns of 5% a year [1].';
  }
}

describe('multimodal-customer-service template', () => {
  it('answers an English question from the FAQ with a citation (offline model, no LLM)', async () => {
    const { reply, handoff } = await runNamed('text-question-en');
    expect(handoff).toBeUndefined();
    expect(reply).toMatchObject({
      intent: 'activate_my_card',
      language: 'en',
      marketingCheck: { outcome: 'pass' },
    });
    expect(reply?.citations).toEqual([{ n: 1, source: 'FAQ · How do I activate my card?' }]);
    expect(reply?.answer).toContain('In the app, go to Cards > Activate card');
    // The FAQ's own sentences as one cited paragraph; `model` (not the customer's text) says no LLM wrote it.
    expect(reply?.answer).not.toMatch(/offline extractive model|Amounts:|^\d\. /m);
    expect(reply?.model).toBe('offline-extractive (no LLM)');
  });

  it('answers a Chinese question from the Chinese FAQ', async () => {
    const { reply } = await runNamed('text-question-zh');
    expect(reply).toMatchObject({ intent: 'transfer_not_received_by_recipient', language: 'zh' });
    expect(reply?.citations).toEqual([{ n: 1, source: '常见问题 · 转账后对方没有收到怎么办？' }]);
    expect(reply?.answer).toContain('转账记录');
    expect(reply?.marketingCheck.outcome).toBe('pass');
  });

  it('reads a photographed question with OCR and a voice message with speech to text', async () => {
    const image = await runNamed('image-question-en');
    expect(image.reply?.maskedMessage).toBe('How can I change the PIN\nof my debit card?');
    expect(image.reply?.received).toEqual([{ kind: 'image', ok: true, engine: 'tesseract' }]);
    expect(image.reply?.intent).toBe('change_pin');
    expect(image.reply?.citations[0]?.source).toBe('FAQ · How do I change my card PIN?');
    const voice = await runNamed('voice-lost-card-en');
    expect(voice.reply?.received).toEqual([
      { kind: 'audio', ok: true, engine: 'pocketsphinx', quality: 'basic' },
    ]);
    expect(voice.reply?.maskedMessage).toMatch(/lost my card/);
    expect(voice.reply?.intent).toBe('lost_or_stolen_card');
    // Steps keep the FAQ's order: freeze first, then report the card lost (issue 14 item 17).
    const answer = voice.reply?.answer ?? '';
    expect(answer).toMatch(/^Freeze the card at once/);
    const freeze = answer.indexOf('Freeze the card at once');
    const report = answer.indexOf('Then report the card lost');
    expect(report === -1 || report > freeze).toBe(true);
  });

  it('hands a complaint to the complaints queue, with the card and phone numbers masked', async () => {
    // Until an agent replies the run waits; the handoff (with the notice for the customer) is already out.
    const waiting = await run(fixture('complaint-zh').input);
    expect(waiting.reply).toBeUndefined();
    expect(waiting.handoff?.queue).toBe('complaints');
    const { reply, handoff, agentReview } = await runNamed('complaint-zh');
    // The agent's own reply is what the customer gets.
    expect(reply).toMatchObject({ sentBy: 'agent', agent: '赵敏', language: 'zh', intent: 'complaint' });
    expect(reply?.answer).toContain('3 个工作日内退回原卡');
    expect(agentReview).toMatchObject({ queue: 'complaints', outcome: 'replied', action: 'override' });
    expect(handoff).toMatchObject({
      reasonCodes: ['COMPLAINT'],
      queue: 'complaints',
      priority: 'high',
      language: 'zh',
    });
    expect(handoff?.personalDataMasked).toEqual({ CN_MOBILE: 1, BANK_CARD: 1 });
    expect(handoff?.maskedMessage).not.toContain('6222021234567890128');
    expect(handoff?.maskedMessage).not.toContain('13912345678');
    expect(handoff?.maskedMessage).toContain('139****5678');
    expect(handoff?.customerNotice).toContain('15 日内');
  });

  it('hands off a message the classifier is unsure about instead of guessing', async () => {
    const { reply, handoff } = await runNamed('out-of-scope-en');
    expect(reply).toMatchObject({ sentBy: 'agent', agent: 'Jordan Park' });
    expect(handoff).toMatchObject({
      reasonCodes: ['LOW_CONFIDENCE'],
      intent: 'unknown',
      queue: 'customer-service',
    });
  });

  it('waits for an agent in the handoff’s queue, who sends the draft, writes the reply, or escalates', async () => {
    const { result, reviewed } = await runFixtureReviewed(
      template,
      { ...fixture('complaint-zh'), decisions: {} },
      'offline',
    );
    expect(result.status).toBe('waiting');
    expect(reviewed).toEqual([]);
    const task = result.waiting?.[0]?.task as ReviewTask;
    expect(task).toMatchObject({
      queue: 'complaints',
      roles: ['approver', 'analyst'],
      title: 'Customer complaint (zh)',
      outcomes: ['replied', 'escalated'],
      editableFields: ['reply'],
    });
    expect(task.summary.find((x) => x.path === 'maskedMessage')?.value).toContain('139****5678');
    expect(JSON.stringify(task)).not.toContain('13912345678');
    const agent = { id: 'usr_agent', name: 'Agent' };
    const escalated = await runFixtureReviewed(
      template,
      {
        ...fixture('complaint-zh'),
        decisions: {
          agent: {
            action: 'reject',
            reason: 'Needs the card operations team',
            reviewers: [agent],
            decidedAt: 0,
          },
        },
      },
      'offline',
    );
    const out = escalated.result.outputs as Outputs;
    expect(out.reply).toBeUndefined();
    expect(out.agentReview).toMatchObject({ outcome: 'escalated', reason: 'Needs the card operations team' });
    // A draft the marketing check stopped is what an agent may approve after reading it.
    const models: NonNullable<Services['models']> = { chatModel: () => new PromisingModel({}) };
    const runtime = createRuntime({ registry: createBuiltinRegistry(), services: { models } });
    const first = await runtime.run(template.flow, {
      channel: 'app',
      text: 'Someone stole my card, what do I do?',
    });
    expect(first.status).toBe('waiting');
    const drafted = first.waiting?.[0]?.task as ReviewTask;
    expect(drafted.queue).toBe('customer-service');
    expect(drafted.case['draftAnswer']).toContain('guaranteed returns');
  });

  it('hands off an answer that fails the marketing check, keeping it as a draft for the agent', async () => {
    const models: NonNullable<Services['models']> = { chatModel: () => new PromisingModel({}) };
    const out = await run({ channel: 'app', text: 'Someone stole my card, what do I do?' }, { models });
    expect(out.reply).toBeUndefined();
    expect(out.handoff?.reasonCodes).toEqual(['MARKETING_CHECK_FAILED']);
    expect(out.handoff?.draftAnswer).toContain('guaranteed returns');
    expect(out.handoff?.priority).toBe('high');
  });

  it('refers a question the FAQ does not answer to an agent', async () => {
    // A confident intent whose FAQ entry was removed: retrieval finds nothing relevant, the answer refuses.
    const flow = structuredClone(template.flow) as { nodes: FlowNode[] };
    const retrieve = flow.nodes.find((n) => n.id === 'retrieve') as FlowNode;
    retrieve.config['documents'] = (retrieve.config['documents'] as { source: string }[]).filter(
      (d) => !/exchange rate|汇率/.test(d.source),
    );
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    const result = await runtime.run(flow, {
      channel: 'web',
      text: 'What exchange rate do you use for euros?',
    });
    const out = result.outputs as Outputs;
    expect(out.handoff?.reasonCodes).toEqual(['NO_ANSWER']);
    expect(out.handoff?.intent).toBe('exchange_rate');
  });

  describe('the intent classifier', () => {
    const examples = nodeConfig('classify')['examples'] as { text: string; label: string }[];
    const banking = (file: string) =>
      readFileSync(new URL(`../../datasets/banking-intents/${file}`, dir), 'utf8')
        .trim()
        .split(/\r?\n/)
        .slice(1)
        .map((line) => {
          const at = line.lastIndexOf(',');
          return {
            text: line.slice(0, at).replace(/^"|"$/g, '').replace(/""/g, '"'),
            label: line.slice(at + 1),
          };
        });
    const intents = [...new Set(examples.map((e) => e.label))].filter((l) => l !== 'complaint');
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    // The label the classifier prefers, before the template's 0.5 confidence floor turns unsure ones into "unknown".
    const config = { ...nodeConfig('classify'), minConfidence: 0 };
    const classify = async (text: string) => {
      const r = await runtime.runNode({ type: 'model.classify', config }, { text });
      return r.outputs as { label: string; confidence: number };
    };
    beforeAll(async () => {
      await classify('warm up: trains once per process');
    });

    it('learns from the first 40 BANKING77 training examples of 12 intents, Chinese examples and complaints', () => {
      expect(intents).toHaveLength(12);
      const train = banking('banking77_train.csv');
      for (const intent of intents) {
        const english = examples.filter((e) => e.label === intent && !/[\u4e00-\u9fff]/.test(e.text));
        expect(english.map((e) => e.text)).toEqual(
          train
            .filter((r) => r.label === intent)
            .slice(0, 40)
            .map((r) => r.text),
        );
        expect(examples.filter((e) => e.label === intent && /[\u4e00-\u9fff]/.test(e.text)).length).toBe(15);
      }
    });

    it('classifies BANKING77 test messages of those intents with at least 95 % accuracy', async () => {
      const test = banking('banking77_test.csv').filter((r) => intents.includes(r.label));
      expect(test).toHaveLength(480);
      let right = 0;
      for (const r of test) if ((await classify(r.text)).label === r.label) right++;
      expect(right / test.length).toBeGreaterThanOrEqual(0.95);
    });

    it('classifies Chinese messages and complaints it never saw', async () => {
      const heldOut: [string, string][] = [
        ['我申请的卡到现在都没收到', 'card_arrival'],
        ['新收到的借记卡要怎么激活', 'activate_my_card'],
        ['银行卡掉了请帮我冻结', 'lost_or_stolen_card'],
        ['取款密码怎么改', 'change_pin'],
        ['卡的密码锁住了', 'pin_blocked'],
        ['付款失败说卡被拒', 'declined_card_payment'],
        ['转给我妈的钱她没收到', 'transfer_not_received_by_recipient'],
        ['欧元汇率多少', 'exchange_rate'],
        ['一笔钱扣了两次', 'transaction_charged_twice'],
        ['手机号换了怎么改', 'edit_personal_details'],
        ['实名认证怎么弄', 'verify_my_identity'],
        ['我要销户', 'terminate_account'],
        ['你们这个服务让我很愤怒，我要投诉', 'complaint'],
        ['Your service is appalling and I want to complain', 'complaint'],
      ];
      for (const [text, label] of heldOut) expect((await classify(text)).label, text).toBe(label);
    });
  });

  it('has an FAQ entry in Chinese and English for every intent it answers', () => {
    const documents = nodeConfig('retrieve')['documents'] as { source: string; text: string }[];
    const sources = new Set(documents.map((d) => d.source.split(' · ')[1]));
    const intents = [
      ...new Set((nodeConfig('classify')['examples'] as { label: string }[]).map((e) => e.label)),
    ].filter((l) => l !== 'complaint');
    for (const id of ['query', 'focus']) {
      const expression = nodeConfig(id)['expression'] as string;
      const titles = JSON.parse(/\$titles := (\{.*?\});/s.exec(expression)?.[1] ?? '{}') as Record<
        string,
        string[]
      >;
      expect(Object.keys(titles).sort()).toEqual([...intents].sort());
      for (const [en, zh] of Object.values(titles)) {
        expect(sources.has(en as string), en).toBe(true);
        expect(sources.has(zh as string), zh).toBe(true);
      }
    }
  });
});
