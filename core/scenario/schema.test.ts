import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCENARIO_SCHEMA_FILE, scenarioJsonSchema, scenarioJsonSchemaText, STEP_KINDS } from './schema.ts';
import { fenText, fenToYuan, toFen, yuanToFen } from './money.ts';

describe('the published JSON Schema', () => {
  it('fixtures/scenario.schema.json is what scripts/gen-scenario-schema.ts writes (run it after a format change)', () => {
    expect(readFileSync(fileURLToPath(SCENARIO_SCHEMA_FILE), 'utf8')).toBe(scenarioJsonSchemaText());
  });

  it('is draft-07 (what the YAML language server reads) and lists every step kind', () => {
    const schema = scenarioJsonSchema() as {
      $schema: string;
      required: string[];
      properties: {
        steps: { items: { anyOf: { properties?: Record<string, unknown>; enum?: string[] }[] } };
      };
      definitions: Record<string, unknown>;
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.required).toEqual(['name', 'steps']);
    const kinds = schema.properties.steps.items.anyOf.flatMap((s) => Object.keys(s.properties ?? {}));
    expect(kinds).toEqual(STEP_KINDS);
    expect(schema.properties.steps.items.anyOf[0]!.enum).toEqual([
      'insert',
      'remove',
      'cancel',
      'timeout',
      'sync',
      'settle',
      'reconcile',
    ]);
    // The card profile is described once and referred to.
    expect(Object.keys(schema.definitions)).toEqual(['card']);
  });
});

describe('money in scenarios: yuan text to fen, exactly', () => {
  it('converts digit by digit, never through a float', () => {
    expect(yuanToFen('12.50')).toBe(1250);
    expect(yuanToFen('0.29')).toBe(29); // 0.29 * 100 = 28.999999999999996 in floating point
    expect(yuanToFen('1.1')).toBe(110);
    expect(yuanToFen('4.35')).toBe(435); // 4.35 * 100 = 434.99999999999994
    expect(yuanToFen('3')).toBe(300);
    expect(yuanToFen('9999999999999.99')).toBe(999_999_999_999_999);
    expect(() => yuanToFen('12.505')).toThrow(RangeError);
    expect(() => yuanToFen('-1.00')).toThrow(RangeError);
    expect(() => yuanToFen('1e3')).toThrow(RangeError);
  });

  it('shows fen in both units', () => {
    expect(fenToYuan(1250)).toBe('12.50');
    expect(fenToYuan(-5)).toBe('-0.05');
    expect(fenText(84750)).toBe('84750 fen (¥847.50)');
    expect(fenText(null)).toBe('none (no such account)');
    expect(toFen(7)).toBe(7);
    expect(toFen('0.07')).toBe(7);
  });
});
