import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-for-test.ts';
import { resolveCard } from '../core/card/wallet.ts';
import { CHECKS } from '../core/conformance/checks.ts';
import type { ConformanceReport } from '../core/conformance/runner.ts';

/** The command-line contract of `sscard conformance` and `sscard record` (in-process cards). */

const tmp = () => mkdtempSync(join(tmpdir(), 'sscard-conformance-'));

describe('sscard conformance', () => {
  it('prints pass/fail/skip per check with status words, grouped by function, then the summary; exit 0', async () => {
    const r = await cli('conformance', '--card', 'gen2');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^SSCard Lab conformance — reader "SSCard Lab Virtual Reader 0" \(in-process virtual reader\)/,
    );
    expect(r.out).toContain('\niReadCardBas  读基本信息 (read basic card information)\n');
    expect(r.out).toMatch(/ {2}PASS {2}BAS-05 {3}EF05 记录 1–7 按记录号读取.*\n {8}SW 6118 9000 9000 9000/);
    expect(r.out).toMatch(/ {2}SKIP {2}VER-01 .*\n {8}– PIN check: run with --pin-checks --pin <digits>/);
    expect(r.out).toMatch(/\nSummary: 47 checks — 26 pass, 0 fail, 21 skip → PASS 通过$/);
  });

  it('--json: the report object; with --pin-checks --pull-checks every check runs and passes', async () => {
    const r = await cli('conformance', '--card', 'gen3-active', '--pin-checks', '--pull-checks', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as ConformanceReport;
    expect(Object.keys(report)).toEqual([
      'reader',
      'readerKind',
      'card',
      'options',
      'results',
      'summary',
      'ok',
    ]);
    expect(report.card).toMatchObject({ generation: 3, protocol: 'T=1', algorithm: 'sm4', simulated: true });
    expect(report.options).toEqual({ pinChecks: true, pullChecks: true, pullAvailable: true });
    expect(report.results.map((x) => x.id)).toEqual(CHECKS.map((c) => c.id));
    for (const x of report.results) {
      expect(Object.keys(x)).toEqual(['id', 'group', 'kind', 'zh', 'en', 'ref', 'status', 'detail', 'apdus']);
      for (const a of x.apdus)
        expect(Object.keys(a).filter((k) => k !== 'error')).toEqual(['command', 'name', 'sw', 'dataLength']);
    }
    expect(report.summary).toEqual({ total: 47, pass: 45, fail: 0, skip: 2 });
    expect(report.ok).toBe(true);
    expect(r.out).not.toContain('258014'); // the PIN (from the profile) is never printed
  });

  it('exit 2 when a check fails: a gen 3 card that accepts its initial PIN fails VER-05', async () => {
    const p = structuredClone(resolveCard('gen3-initial-pin').profile) as Record<string, unknown>;
    p.refuseInitialPin = false;
    const file = join(tmp(), 'lenient.json');
    writeFileSync(file, JSON.stringify(p));
    const r = await cli('conformance', '--card', file, '--pin-checks');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(
      / {2}FAIL {2}VER-05 .*\n.*\n {8}✘ the initial PIN 123456 was accepted with 9000; expected 6985/,
    );
    expect(r.out).toMatch(/1 fail, .* → FAIL 不通过$/);
    const j = JSON.parse(
      (await cli('conformance', '--card', file, '--pin-checks', '--json')).out,
    ) as ConformanceReport;
    expect(j.ok).toBe(false);
    expect(j.results.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual(['VER-05']);
  });

  it('--pin overrides the profile’s PIN: a wrong one fails VER-01 and stops the PIN checks (exit 2)', async () => {
    const r = await cli('conformance', '--card', 'gen1', '--pin-checks', '--pin', '000000', '--json');
    expect(r.code).toBe(2);
    const j = JSON.parse(r.out) as ConformanceReport;
    expect(j.results.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual(['VER-01']);
  });

  it('usage errors exit 64, bad input 1', async () => {
    const usage: string[][] = [
      ['conformance', '--card', 'gen2', '--reader', 'PCD 00 00'],
      ['conformance', '--card', 'gen2', '--pin', '135790'],
      ['conformance', '--card', 'gen2', '--bogus'],
      ['conformance', '--reader', 'PCD 00 00', '--pin-checks'],
      ['conformance', '--card', 'gen2', 'extra'],
    ];
    for (const args of usage) {
      const r = await cli(...args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 64]);
      expect(r.err).toMatch(/^sscard: .*\nRun 'sscard help' for usage\.$/);
    }
    expect((await cli('conformance', '--reader', 'PCD 00 00', '--pin-checks')).err).toMatch(
      /--pin-checks needs --pin/,
    );
    const badPin = await cli('conformance', '--card', 'gen2', '--pin-checks', '--pin', '12ab');
    expect([badPin.code, badPin.err]).toEqual([1, 'sscard: --pin must be 4 to 12 digits']);
    const noCard = await cli('conformance', '--card', 'no-such-card');
    expect(noCard.code).toBe(1);
    expect(noCard.err).toMatch(/no such card file/);
  });

  it('--help and sscard help describe it', async () => {
    const h = await cli('conformance', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^sscard conformance \[--reader <name> \| --card <card>\]/);
    const all = await cli('help');
    expect(all.out).toContain('sscard conformance [--reader <name> | --card <card>]');
    expect(all.out).toContain('sscard record [--reader <name>] > card.json');
  });
});

describe('sscard record', () => {
  it('writes a profile on stdout and a summary on stderr; the file serves as the same card', async () => {
    const r = await cli('record', '--card', 'gen2');
    expect(r.code).toBe(0);
    const profile = JSON.parse(r.out) as { id: string; pin: string; recorded: { placeholders: string[] } };
    expect(profile.id).toBe('recorded-b44010024');
    expect(profile.pin).toBe('000000');
    expect(r.err).toMatch(
      /^sscard record: card B44010024 \(gen 2\) from "SSCard Lab Virtual Reader 0"\n {2}read: {9}protocol, /,
    );
    expect(r.err).toMatch(/\n {2}placeholders: card\.photo, pin, transactionPassword, status\n/);
    const file = join(tmp(), 'card.json');
    writeFileSync(file, r.out);
    const original = JSON.parse((await cli('read', '--card', 'gen2', '--json')).out) as Record<
      string,
      unknown
    >;
    const replay = JSON.parse((await cli('read', '--card', file, '--json')).out) as Record<string, unknown>;
    expect(replay).toEqual(original);
  });

  it('usage errors exit 64; no such card exits 1', async () => {
    expect((await cli('record', '--card', 'gen2', '--reader', 'x')).code).toBe(64);
    expect((await cli('record', 'extra')).code).toBe(64);
    expect((await cli('record', '--card', 'nope')).code).toBe(1);
    expect((await cli('record', '--help')).out).toMatch(/^sscard record \[--reader <name>\] > card\.json/);
  });
});
