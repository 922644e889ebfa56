import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { ScenarioResult } from './engine.ts';
import { formatIssue, type ScenarioIssue } from './load.ts';
import type { BrokenFile } from './runner.ts';

/**
 * JUnit XML as CI servers read it (Jenkins, GitLab, GitHub actions' test reporters): valid
 * against the Jenkins/Ant JUnit schema in e2e/junit/junit.xsd.
 *
 * - one <testsuite> per folder, one <testcase> per scenario: name = the scenario's name,
 *   classname = folder/file;
 * - a failed expectation is a <failure> (message: the first expectation, expected vs actual;
 *   text: every failed expectation with its line);
 * - a scenario that could not run to the end (an error, a till that never settled) is an
 *   <error>; so is a broken file, as a test case named after the file;
 * - <system-out> holds the step log.
 */

export interface JUnitOptions {
  timestamp?: Date;
  hostname?: string;
  /** Name of the <testsuites> element. */
  name?: string;
}

/** Characters XML 1.0 cannot carry at all (control characters but tab, LF, CR; lone surrogates). */
const INVALID_XML =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#13;')
    .replace(/\n/g, '&#10;')
    .replace(/\t/g, '&#9;');
}

/** Element text: newlines kept as they are. */
function textEscape(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

interface Case {
  folder: string;
  xml: string;
  failures: number;
  errors: number;
  ms: number;
}

export function classNameOf(file: string): string {
  const folder = dirname(file).split(/[\\/]/).pop() ?? '';
  const name = file.split(/[\\/]/).pop() ?? file;
  return folder && folder !== '.' ? `${folder}/${name}` : name;
}

function folderOf(file: string): string {
  const d = dirname(file);
  return d === '.' ? '(root)' : d.split('\\').join('/');
}

function resultCase(r: ScenarioResult): Case {
  const attrs = `name="${xmlEscape(r.name)}" classname="${xmlEscape(classNameOf(r.file))}" time="${seconds(r.durationMs)}"`;
  const parts: string[] = [];
  if (r.failures.length) {
    const first = r.failures[0]!;
    const message = `line ${first.line}: ${first.field}: expected ${first.expected}, got ${first.actual}`;
    const text = r.failures
      .map(
        (f) =>
          `${r.file}:${f.line}: ${f.step}\n  ${f.field}\n    expected: ${f.expected}\n    actual:   ${f.actual}`,
      )
      .join('\n');
    parts.push(
      `<failure type="expectation" message="${xmlEscape(clip(message))}">${textEscape(text)}</failure>`,
    );
  }
  if (r.error)
    parts.push(`<error type="error" message="${xmlEscape(clip(r.error))}">${textEscape(r.error)}</error>`);
  const out = [
    r.description ? `${r.description}\n` : '',
    r.rules.length ? `rules: ${r.rules.join(', ')}\n` : '',
    r.log.join('\n'),
  ].join('');
  if (out) parts.push(`<system-out>${textEscape(out)}</system-out>`);
  return {
    folder: folderOf(r.file),
    xml: `    <testcase ${attrs}>${parts.length ? `\n      ${parts.join('\n      ')}\n    ` : ''}</testcase>`,
    failures: r.failures.length && !r.error ? 1 : 0,
    errors: r.error ? 1 : 0,
    ms: r.durationMs,
  };
}

function brokenCase(b: BrokenFile): Case {
  const name = b.file.split(/[\\/]/).pop() ?? b.file;
  const text = b.issues.map((i: ScenarioIssue) => formatIssue(i)).join('\n');
  const first = b.issues[0];
  const message = first ? formatIssue(first) : 'invalid scenario file';
  return {
    folder: folderOf(b.file),
    xml: `    <testcase name="${xmlEscape(name)}" classname="${xmlEscape(classNameOf(b.file))}" time="0.000">\n      <error type="invalid-scenario" message="${xmlEscape(clip(message))}">${textEscape(text)}</error>\n    </testcase>`,
    failures: 0,
    errors: 1,
    ms: 0,
  };
}

function clip(text: string): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return oneLine.length > 500 ? `${oneLine.slice(0, 497)}…` : oneLine;
}

export function toJUnitXml(
  results: readonly ScenarioResult[],
  broken: readonly BrokenFile[],
  o: JUnitOptions = {},
): string {
  const timestamp = (o.timestamp ?? new Date()).toISOString().slice(0, 19);
  const host = o.hostname ?? hostname();
  const cases = [...results.map(resultCase), ...broken.map(brokenCase)];
  const folders = [...new Set(cases.map((c) => c.folder))].sort();
  const suites = folders.map((folder, id) => {
    const cs = cases.filter((c) => c.folder === folder);
    const failures = cs.reduce((n, c) => n + c.failures, 0);
    const errors = cs.reduce((n, c) => n + c.errors, 0);
    const ms = cs.reduce((n, c) => n + c.ms, 0);
    return [
      `  <testsuite name="${xmlEscape(folder)}" tests="${cs.length}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds(ms)}" timestamp="${timestamp}" hostname="${xmlEscape(host)}" id="${id}" package="${xmlEscape(folder)}">`,
      ...cs.map((c) => c.xml),
      '  </testsuite>',
    ].join('\n');
  });
  const all = cases.length;
  const failures = cases.reduce((n, c) => n + c.failures, 0);
  const errors = cases.reduce((n, c) => n + c.errors, 0);
  const ms = cases.reduce((n, c) => n + c.ms, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(o.name ?? 'sscard run')}" tests="${all}" failures="${failures}" errors="${errors}" time="${seconds(ms)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
