import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError, jsonSyntaxProblem } from './json-error.ts';
import { seededRandom } from './crypto.ts';

describe('JSON syntax errors told without quoting the text', () => {
  it('names the line, column and kind, never the bytes', () => {
    expect(jsonSyntaxProblem('root:x:0:0:root:/root:/bin/bash')).toBe(
      'line 1, column 1: not valid JSON (expected a value (object, array, string, number, true, false or null))',
    );
    expect(jsonSyntaxProblem('{\n  "a": 01\n}')).toBe(
      "line 2, column 9: not valid JSON (expected ',' or '}' after a property value)",
    );
    expect(jsonSyntaxProblem('{"secret": "abc')).toBe(
      'line 1, column 16: not valid JSON (the text ends too early)',
    );
    expect(jsonSyntaxProblem('{"a": 1} trailing')).toBe(
      'line 1, column 10: not valid JSON (more text after the JSON value)',
    );
    expect(jsonSyntaxProblem('"tab\there"')).toMatch(/control character/);
    expect(jsonSyntaxProblem('['.repeat(5000))).toMatch(/nested too deeply/);
  });

  it('agrees with JSON.parse on valid documents and on thousands of mutated ones', () => {
    const valid = [
      '{"a":[1,2,{"b":null,"c":-0.5e+3,"d":"\\u00e9\\n"}],"e":true,"f":false}',
      '[]',
      '{}',
      ' 0 ',
      '"x"',
      '[1e5, -0, 0.25, "\\/"]',
    ];
    const alphabet = '{}[],:"\\ 0123456789.eE+-tfnrlsua\n\t';
    const random = seededRandom(16);
    let checked = 0;
    for (const base of valid) {
      expect(findJsonSyntaxError(base), base).toBeNull();
      for (let k = 0; k < 2000; k++) {
        const bytes = random(3);
        const at = bytes[0]! % (base.length + 1);
        const ch = alphabet[bytes[1]! % alphabet.length]!;
        const text =
          bytes[2]! % 3 === 0
            ? base.slice(0, at) + base.slice(at + 1) // delete
            : bytes[2]! % 3 === 1
              ? base.slice(0, at) + ch + base.slice(at) // insert
              : base.slice(0, at) + ch + base.slice(at + 1); // replace
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        expect(findJsonSyntaxError(text) === null, JSON.stringify(text)).toBe(parses);
        checked++;
      }
    }
    expect(checked).toBe(valid.length * 2000);
  });
});
