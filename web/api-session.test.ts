import { describe, expect, it } from 'vitest';
import { ID_MAX_CHARS, parseCall } from './api-session.ts';

/** How the web host reads one WebSocket text message as a call (web/api-session.ts). */
describe('parseCall', () => {
  it('reads {id, method, args}; the id may be a number, a short string, null or left out', () => {
    expect(parseCall('{"id":7,"method":"listCards","args":{}}')).toEqual({
      ok: true,
      id: 7,
      method: 'listCards',
      args: {},
    });
    expect(parseCall('{"id":"a1","method":"listCards"}')).toMatchObject({
      ok: true,
      id: 'a1',
      args: undefined,
    });
    expect(parseCall('{"method":"listCards"}')).toMatchObject({ ok: true, id: null });
    expect(parseCall(`{"id":"${'x'.repeat(ID_MAX_CHARS)}","method":"m"}`)).toMatchObject({ ok: true });
  });

  it.each([
    ['not JSON', 'not json', 'message is not JSON', null],
    ['null', 'null', 'the message must be a JSON object', null],
    ['an array', '[1,2]', 'the message must be a JSON object', null],
    ['a number', '42', 'the message must be a JSON object', null],
    ['a string', '"listCards"', 'the message must be a JSON object', null],
    ['an object id', '{"id":{},"method":"listCards"}', 'id must be a number or a string', null],
    ['a long string id', `{"id":"${'x'.repeat(ID_MAX_CHARS + 1)}","method":"m"}`, 'id must be', null],
    ['a method that is not a string', '{"id":3,"method":["listCards"]}', 'method must be a string', 3],
    ['no method', '{"id":4}', 'method must be a string', 4],
    ['nesting 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'must be a JSON object', null],
  ])('refuses %s with BAD_ARGUMENTS in both languages', (_what, text, en, id) => {
    const r = parseCall(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.id).toBe(id);
    expect(r.error.code).toBe('BAD_ARGUMENTS');
    expect(r.error.en).toContain(en);
    expect(r.error.zh).toMatch(/[\u4e00-\u9fff]/);
  });
});
