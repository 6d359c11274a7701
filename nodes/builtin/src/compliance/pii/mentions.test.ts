/**
 * Evidence from the rest of the text (mentions.ts), through detectPii as a caller sees it: a name found once
 * with a cue is found where it comes back without one, a list's unfound names follow their neighbours, surname
 * particles stay inside the name, and none of it fires on text without a person.
 */
import { describe, expect, it } from 'vitest';
import { detectPii } from './detect.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const persons = (text: string, options = {}) =>
  detectPii(text, { now: NOW, ...options })
    .filter((f) => f.type === 'PERSON')
    .map((f) => f.text);

describe('names found from the rest of the text', () => {
  it('takes a greeted first name where it comes back with its surname, and the surname alone after it', () => {
    const text =
      "Agent: Could I take your name?\nCaller: Ngozi, it's for my account.\nAgent: Thanks Ngozi. Is that Ngozi Eze on the card?";
    expect(persons(text)).toEqual(['Ngozi', 'Ngozi', 'Ngozi Eze']);
    expect(persons(text, { mentions: false })).not.toContain('Ngozi Eze');
  });

  it('takes a Chinese full name again where it is repeated without a cue', () => {
    const text = '客户经理殷浩下周起调往总行。请殷浩本周内完成交接，殷浩的客户由他人接手。';
    expect(persons(text)).toEqual(['殷浩', '殷浩', '殷浩']);
  });

  it('takes the unfound names of an attendee list whose other lines are names', () => {
    const text =
      'Investment committee - attendees\nHarriet Okonjo (chair)\nVikram Sethi\nLorenzo Bianchi\nAisling Byrne (minutes)\nDecision: rebalance.';
    expect(persons(text)).toEqual(['Harriet Okonjo', 'Vikram Sethi', 'Lorenzo Bianchi', 'Aisling Byrne']);
  });

  it('takes the unfound item of a list in running text whose other items are names', () => {
    // Two full names, so the list's other items are names whatever the span-boundary model's threshold for
    // adding one (it added "Joseph" alone at 0.7; round 7's CV chose 0.8).
    expect(
      persons('Hi all,\n\nMarta Ruiz, Joseph Blake and Wen will cover the desk over Christmas.'),
    ).toContain('Wen');
    // Places in a list are not names because names follow them.
    expect(persons('We visited London, Paris and Rome with Anna Berg, Tom Hale and Sue.')).toEqual([
      'Anna Berg',
      'Tom Hale',
      'Sue',
    ]);
  });

  it('keeps surname particles inside the name', () => {
    const text =
      'I am the executor of the estate of Cornelius Van der Berg, who banked with you for 40 years.';
    expect(persons(text)).toEqual(['Cornelius Van der Berg']);
  });

  it('adds no firm named after its founders, whatever the list or the span-boundary model say', () => {
    expect(persons('Our partners: Charles Schwab, Edward Jones, Raymond James and T. Rowe Price.')).toEqual(
      [],
    );
    expect(
      persons(
        'Speakers from Fidelity International, Baillie Gifford and Jupiter Asset Management will attend.',
      ),
    ).toEqual([]);
  });

  it('adds nothing to text without a person: capitalised headings in a list, a repeated brand', () => {
    const text =
      'Agenda\nQuarterly Results\nRisk Appetite\nAny Other Business\nPaul Smith and Ted Baker stores: Paul Smith first.';
    expect(persons(text)).toEqual([]);
  });
});
