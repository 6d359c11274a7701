/**
 * Names and addresses written with Latin diacritics (Spanish, Irish, Nordic, German, Vietnamese customers) are
 * found as their plain-letter forms are, and findings quote the original text. Round 7's split z found the
 * English recognisers cutting "Lucía" to "Luc" and missing "Seán Ó Briain" outright.
 */
import { describe, expect, it } from 'vitest';
import { detectPii, withSegmentation } from './detect.js';
import { latinFolded } from './segmenter.js';

const persons = (text: string, allowList?: string[]) =>
  detectPii(text, allowList ? { allowList } : {})
    .filter((f) => f.type === 'PERSON')
    .map((f) => f.text);

describe('Latin diacritics', () => {
  it('folds each accented letter to one ASCII letter, keeping every offset', () => {
    const text =
      'Lucía Fernández, Seán Ó Briain, Björn Müller, Łukasz Żółć, Nguyễn Thị Lan, Æsa Øster; 陳大文 ×÷';
    const folded = latinFolded(text);
    expect(folded).toHaveLength(text.length);
    expect(folded).toBe(
      'Lucia Fernandez, Sean O Briain, Bjorn Muller, Lukasz Zolc, Nguyen Thi Lan, Asa Oster; 陳大文 ×÷',
    );
    expect(latinFolded('plain ASCII and 中文')).toBe('plain ASCII and 中文');
  });

  it('finds accented names whole, as the same names without accents are found', () => {
    const pairs: [string, string][] = [
      [
        'Caller: Lucía Fernández.\nAgent: Thanks Ms. Fernández.',
        'Caller: Lucia Fernandez.\nAgent: Thanks Ms. Fernandez.',
      ],
      ['Hi, this is Tomás speaking.', 'Hi, this is Tomas speaking.'],
      ['Regards,\nSeán Ó Briain', 'Regards,\nSean O Briain'],
      ['José Álvarez and Zoë Clarke attended.', 'Jose Alvarez and Zoe Clarke attended.'],
    ];
    for (const [accented, plain] of pairs) {
      const found = persons(accented);
      expect(found.map(latinFolded)).toEqual(persons(plain));
      expect(found.length).toBeGreaterThan(0);
      for (const name of found) expect(accented).toContain(name);
    }
    expect(persons('Caller: Lucía Fernández.')).toEqual(['Lucía Fernández']);
  });

  it('masks by the original offsets, in mixed Chinese and English text too', async () => {
    const text = '客户陈小姐转告：beneficiary Björn Müller, account at Handelsbanken.';
    const found = detectPii(text, await withSegmentation(text));
    const name = found.find((f) => f.type === 'PERSON' && f.text.startsWith('Bj'));
    expect(name?.text).toBe('Björn Müller');
    expect(text.slice(name?.start, name?.end)).toBe('Björn Müller');
  });

  it('keeps an allow-listed name out, written with or without its accents', () => {
    expect(persons('Thanks, Lucía Fernández.', ['Lucía Fernández'])).toEqual([]);
    expect(persons('Thanks, Lucía Fernández.', ['lucia fernandez'])).toEqual([]);
  });
});
