/**
 * Where and why JSON text is invalid, told without quoting it. V8's JSON.parse messages quote
 * the text around the error ("Unexpected token 'r', "root:x:0:0"... is not valid JSON") and
 * often give no position; a file that is not what it claims to be must never have its bytes
 * echoed into an error, a log or a report. This scanner walks the JSON grammar (RFC 8259) only
 * far enough to find the first offending character.
 */

export interface JsonSyntaxError {
  /** 1-based line and column of the first offending character (or of the end, if cut short). */
  line: number;
  column: number;
  /** What is wrong, in words that quote nothing of the text. */
  problem: string;
}

class Stop {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {}
}

/** The first syntax error of `text` as JSON, or null when JSON.parse would accept it. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (problem: string): never => {
    throw new Stop(i, i >= n ? 'the text ends too early' : problem);
  };
  const expect = (ch: string, what: string) => {
    if (text[i] !== ch) fail(`expected ${what}`);
    i++;
  };
  const digits = () => {
    const start = i;
    while (i < n && text[i]! >= '0' && text[i]! <= '9') i++;
    if (i === start) fail('expected a digit');
  };
  const string = () => {
    expect('"', 'a string');
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('a control character inside a string');
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail('a bad \\u escape');
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail('a bad escape in a string');
      } else i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > 1000) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        expect(':', "':' after a property name");
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect('}', "',' or '}' after a property value");
        return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect(']', "',' or ']' after an array element");
        return;
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      if (c === '-') i++;
      if (text[i] === '0') i++;
      else digits();
      if (text[i] === '.') {
        i++;
        digits();
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        digits();
      }
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail('expected a value (object, array, string, number, true, false or null)');
  };
  try {
    value(0);
    ws();
    if (i < n) fail('more text after the JSON value');
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.at);
    const line = before.split('\n').length;
    return { line, column: e.at - before.lastIndexOf('\n'), problem: e.problem };
  }
}

/** "line L, column C: not valid JSON (…)" for text JSON.parse refused, quoting none of it. */
export function jsonSyntaxProblem(text: string): string {
  const e = findJsonSyntaxError(text);
  if (!e) return 'not valid JSON';
  return `line ${e.line}, column ${e.column}: not valid JSON (${e.problem})`;
}
