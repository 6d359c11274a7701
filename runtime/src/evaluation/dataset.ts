/**
 * Labelled datasets for evaluation: CSV (RFC 4180, a header row, comma, semicolon, tab or space separated) and
 * JSON Lines (one object a line). Both are read under limits on size, rows, columns, field length and nesting,
 * because a dataset comes from a user (an upload to the server, a file on the command line): a hostile one must
 * fail with a clear reason, never exhaust memory. Pure code: the server, the CLI and the editor read alike.
 */

export const datasetLimits = {
  /** Largest dataset text, in characters. */
  maxChars: 20_000_000,
  maxRows: 100_000,
  maxColumns: 500,
  /** Longest single field (CSV) or line (JSONL), in characters. */
  maxFieldChars: 200_000,
  /** Deepest nesting of a JSONL row. */
  maxDepth: 32,
};

export type DatasetLimits = typeof datasetLimits;

export type DatasetRow = Record<string, unknown>;

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  constructor(
    message: string,
    /** TOO_LARGE, TOO_MANY_ROWS, TOO_MANY_COLUMNS, FIELD_TOO_LONG, TOO_DEEP, MALFORMED, EMPTY */
    readonly code: string,
    /** 1-based line of the problem, where there is one. */
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

export type DatasetFormat = 'csv' | 'jsonl';

/** The format a file name suggests (`.jsonl`, `.ndjson` are JSON Lines; anything else CSV). */
export function formatOfName(name: string): DatasetFormat {
  return /\.(jsonl|ndjson)$/i.test(name) ? 'jsonl' : 'csv';
}

export function parseDataset(text: string, format: DatasetFormat, limits: DatasetLimits = datasetLimits) {
  if (text.length > limits.maxChars)
    throw new DatasetError(`the dataset has more than ${limits.maxChars} characters`, 'TOO_LARGE');
  const rows = format === 'jsonl' ? parseJsonLines(text, limits) : parseCsv(text, limits);
  if (!rows.length) throw new DatasetError('the dataset has no rows', 'EMPTY');
  return rows;
}

function depthOf(value: unknown, limit: number): number {
  // Iterative, so a deep value cannot overflow the stack here.
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (d > max) max = d;
    if (max > limit) return max;
    if (v && typeof v === 'object') for (const c of Object.values(v)) stack.push([c, d + 1]);
  }
  return max;
}

function parseJsonLines(text: string, limits: DatasetLimits): DatasetRow[] {
  const rows: DatasetRow[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!line) continue;
    if (line.length > limits.maxFieldChars)
      throw new DatasetError(
        `the line is longer than ${limits.maxFieldChars} characters`,
        'FIELD_TOO_LONG',
        i + 1,
      );
    if (rows.length >= limits.maxRows)
      throw new DatasetError(`more than ${limits.maxRows} rows`, 'TOO_MANY_ROWS', i + 1);
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch (err) {
      throw new DatasetError(
        err instanceof RangeError ? 'nested too deeply' : 'not valid JSON',
        err instanceof RangeError ? 'TOO_DEEP' : 'MALFORMED',
        i + 1,
      );
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new DatasetError('each line must be a JSON object', 'MALFORMED', i + 1);
    if (depthOf(value, limits.maxDepth) > limits.maxDepth)
      throw new DatasetError(`nested deeper than ${limits.maxDepth}`, 'TOO_DEEP', i + 1);
    if (Object.keys(value).length > limits.maxColumns)
      throw new DatasetError(`more than ${limits.maxColumns} fields`, 'TOO_MANY_COLUMNS', i + 1);
    rows.push(value as DatasetRow);
  }
  return rows;
}

/** The separator of a CSV header line: the most frequent of comma, semicolon and tab outside quotes, else space. */
function separatorOf(header: string): string {
  let best = ',';
  let bestCount = 0;
  for (const sep of [',', ';', '\t']) {
    const count = header.split(sep).length - 1;
    if (count > bestCount) [best, bestCount] = [sep, count];
  }
  return bestCount ? best : ' ';
}

/** A number where the field reads as one (so `age > 30` works in label expressions), else the text. */
function cell(text: string, quoted: boolean): unknown {
  if (quoted || text === '') return text;
  const t = text.trim();
  return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : text;
}

function parseCsv(input: string, limits: DatasetLimits): DatasetRow[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const sep = separatorOf(firstLine);
  const records: { fields: unknown[]; line: number }[] = [];
  let fields: unknown[] = [];
  let field = '';
  let quoted = false;
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  const endField = () => {
    if (fields.length >= limits.maxColumns)
      throw new DatasetError(`more than ${limits.maxColumns} columns`, 'TOO_MANY_COLUMNS', recordLine);
    fields.push(cell(field, quoted));
    field = '';
    quoted = false;
  };
  const endRecord = () => {
    endField();
    // A blank line is no record; a space-separated file may pad with runs of spaces.
    const values = sep === ' ' ? fields.filter((f) => f !== '') : fields;
    if (!(values.length === 1 && values[0] === '') && values.length) {
      if (records.length > limits.maxRows)
        throw new DatasetError(`more than ${limits.maxRows} rows`, 'TOO_MANY_ROWS', recordLine);
      records.push({ fields: values, line: recordLine });
    }
    fields = [];
    recordLine = line;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      inQuotes = true;
      quoted = true;
    } else if (ch === sep) endField();
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      line++;
      endRecord();
    } else field += ch;
    if (field.length > limits.maxFieldChars)
      throw new DatasetError(
        `a field is longer than ${limits.maxFieldChars} characters`,
        'FIELD_TOO_LONG',
        line,
      );
  }
  if (inQuotes) throw new DatasetError('a quoted field is not closed', 'MALFORMED', recordLine);
  if (field !== '' || fields.length) endRecord();
  const [head, ...body] = records;
  if (!head) return [];
  const names = head.fields.map((f) => String(f).trim());
  const seen = new Set<string>();
  for (const n of names) {
    if (!n) throw new DatasetError('a column has no name in the header', 'MALFORMED', 1);
    if (seen.has(n)) throw new DatasetError(`the column "${n}" appears twice in the header`, 'MALFORMED', 1);
    // Names become object keys: never let one reach a prototype.
    if (n === '__proto__' || n === 'constructor' || n === 'prototype')
      throw new DatasetError(`"${n}" cannot be a column name`, 'MALFORMED', 1);
    seen.add(n);
  }
  return body.map(({ fields: values, line: at }) => {
    if (values.length !== names.length)
      throw new DatasetError(`${values.length} fields where the header has ${names.length}`, 'MALFORMED', at);
    const row: DatasetRow = {};
    names.forEach((n, i) => (row[n] = values[i]));
    return row;
  });
}
