/**
 * Linear-time regular expressions for everything a flow author writes: JSONata regex literals (`/.../i`, used by
 * `$match`, `$replace`, `$split`, `$contains`) and JSON Schema `pattern`s. V8's own engine backtracks, so a pattern
 * such as `(a+)+$` on 28 × "a" + "!" runs for seconds; RE2 (here re2js, its pure-JS port) matches in time linear
 * in the input and refuses what cannot be matched that way (backreferences, lookaround).
 *
 * Patterns follow RE2's syntax and meaning: `.` excludes only `\n`, `\s` is ASCII whitespace, `$` with the m flag
 * ends a line at `\n` only. No Node.js module is used here: the editor validates forms with it in the browser.
 */
import { RE2JS, type Matcher } from 're2js';

/**
 * Bounds on regular expressions that run on the calling thread (input-schema patterns). The matching time of a
 * linear-time engine grows with the program size times the text length, so both are bounded; expressionLimits
 * holds this same object as `regex`.
 */
export const linearRegexLimits = {
  /** The largest compiled program accepted (RE2's rough measure of a pattern's cost per input character). */
  maxProgramSize: 2_000,
  /** Longest string checked against a schema pattern (a longer one does not match). */
  maxSubjectLength: 100_000,
  /** Characters checked against patterns in one validation, over all its strings. */
  maxCheckedPerValidation: 250_000,
};

/** A pattern the linear-time engine cannot take, with the reason in words. */
export class RegexRefused extends Error {
  override readonly name = 'RegexRefused';
}

export interface RegexFlags {
  ignoreCase?: boolean;
  multiline?: boolean;
}

/** Compiled patterns by flags and source: compiling costs far more than matching a short text. */
const compiled = new Map<string, RE2JS>();

/** Compiles a JavaScript-syntax pattern for the linear-time engine (cached); throws RegexRefused. */
export function compileLinear(source: string, flags: RegexFlags = {}): RE2JS {
  const key = `${flags.ignoreCase ? 'i' : ''}${flags.multiline ? 'm' : ''}/${source}`;
  let re = compiled.get(key);
  if (re) return re;
  re = compileUncached(source, flags);
  if (compiled.size >= 500) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, re);
  return re;
}

function compileUncached(source: string, flags: RegexFlags): RE2JS {
  let re: RE2JS;
  try {
    const f = (flags.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0) | (flags.multiline ? RE2JS.MULTILINE : 0);
    re = RE2JS.compile(RE2JS.translateRegExp(source), f);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^error parsing regexp: /, '') : String(err);
    throw new RegexRefused(
      `the regular expression /${source.length > 60 ? `${source.slice(0, 57)}...` : source}/ is not accepted: ${reason} (backreferences and lookaround are not supported: patterns run in a linear-time engine)`,
    );
  }
  if (re.programSize() > linearRegexLimits.maxProgramSize) {
    throw new RegexRefused(
      `the regular expression is too complex (over ${linearRegexLimits.maxProgramSize} instructions)`,
    );
  }
  return re;
}

/**
 * JSONata's `RegexEngine` option: JSONata makes one of these from each regex literal and calls `exec` with
 * `lastIndex` as a global RegExp would have it.
 */
export class LinearRegExp {
  private readonly re: RE2JS;
  lastIndex = 0;
  /** One matcher per text: JSONata walks the matches of a text one `exec` at a time. */
  private text: string | undefined;
  private matcher: Matcher | undefined;

  /** @param re the literal as JSONata's parser built it (compiled by V8, never run) */
  constructor(re: RegExp) {
    this.re = compileLinear(re.source, { ignoreCase: re.ignoreCase, multiline: re.multiline });
  }

  exec(str: string): ((string | undefined)[] & { index: number; input: string }) | null {
    const from = this.lastIndex;
    if (from > str.length) {
      this.lastIndex = 0;
      return null;
    }
    if (this.text !== str || !this.matcher) {
      this.matcher = this.re.matcher(str);
      this.text = str;
    }
    const m = this.matcher;
    if (!m.find(from)) {
      this.lastIndex = 0;
      return null;
    }
    const groups = this.re.groupCount();
    const out: (string | undefined)[] = [];
    for (let i = 0; i <= groups; i++) out.push(m.group(i) ?? undefined);
    this.lastIndex = m.end();
    return Object.assign(out, { index: m.start(), input: str });
  }
}
