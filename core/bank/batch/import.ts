/**
 * The batch import run: every row validated (validateApplication), duplicate people within the
 * file refused (R7.1), and all the good rows handed to `issue` in ONE call, so that the caller
 * can write them in one transaction and a failure leaves nothing half-written.
 */
import type { Application } from '../types.ts';
import { branchOffersCardBusiness, type Branch, type ExistingCard } from '../../rules/eligibility.ts';
import { validateApplication } from '../application.ts';
import { columnOf } from './columns.ts';
import { parseFile } from './parse-file.ts';
import type { BatchRowProblem, FileProblem, ParseOptions } from './types.ts';

export interface ImportOptions extends ParseOptions {
  /** Business date, YYYY-MM-DD (Beijing time). */
  today: string;
  /** The person's cards in the card management system (R5.2, R7). */
  existingCardsFor: (ssn: string) => ExistingCard[];
  branch?: Branch;
  /**
   * Called ONCE with every good row, in file order, only when there is at least one; run it
   * inside the caller's transaction so that the batch is written whole or not at all.
   */
  issue: (apps: Application[]) => void;
}

export interface BatchImport {
  issued: number;
  /** The spreadsheet rows issued, in the order given to `issue`. */
  issuedRows: number[];
  rejected: BatchRowProblem[];
  /** Things to look at on rows that were issued anyway (e.g. R5.2 this bank's card elsewhere). */
  warnings: BatchRowProblem[];
  fileProblems: FileProblem[];
}

export function importBatch(text: string, opts: ImportOptions): BatchImport {
  const parsed = parseFile(text, opts);
  const result: BatchImport = {
    issued: 0,
    issuedRows: [],
    rejected: [],
    warnings: [],
    fileProblems: parsed.fileProblems,
  };
  if (opts.branch && !branchOffersCardBusiness(opts.branch)) {
    result.fileProblems.push({
      line: null,
      zh: `${opts.branch.city}分行尚未上线社保卡业务，不能受理批量制卡`,
      en: `The ${opts.branch.city} branch does not offer the card business yet: no batch issuance`,
    });
  }
  if (result.fileProblems.length > 0) return result;

  const problems = new Map<number, BatchRowProblem[]>();
  for (const r of parsed.rows) {
    const list = [...r.problems];
    if (r.application) {
      const check = validateApplication(r.application, {
        today: opts.today,
        existingCards: r.ssn === null ? [] : opts.existingCardsFor(r.ssn),
        ...(opts.branch ? { branch: opts.branch } : {}),
      });
      const at = (i: { field: string; rule: string; zh: string; en: string }): BatchRowProblem => ({
        row: r.row,
        ...columnOf(i.field, r.row, parsed),
        field: i.field,
        rule: i.rule,
        zh: i.zh,
        en: i.en,
      });
      list.push(...check.problems.map(at));
      result.warnings.push(...check.warnings.map(at));
    }
    problems.set(r.row, list);
  }

  // R7.1: one person, one card — the same person twice in the file is refused on every row.
  const bySsn = new Map<string, number[]>();
  for (const r of parsed.rows) if (r.ssn !== null) bySsn.set(r.ssn, [...(bySsn.get(r.ssn) ?? []), r.row]);
  for (const [ssn, rows] of bySsn) {
    if (rows.length < 2) continue;
    for (const row of rows) {
      problems.get(row)!.push({
        row,
        ...columnOf('docNumber', row, parsed),
        field: 'docNumber',
        rule: 'R7.1',
        zh: `社会保障号码 ${ssn} 在文件中重复出现（第 ${rows.join('、')} 行）：一人仅能对应一张社保卡，请核对后只保留一行`,
        en: `SSN ${ssn} appears more than once in the file (rows ${rows.join(', ')}): one person has one card, keep one row`,
      });
    }
  }

  const good: Application[] = [];
  for (const r of parsed.rows) {
    const list = problems.get(r.row)!;
    if (list.length === 0 && r.application) {
      good.push(r.application);
      result.issuedRows.push(r.row);
    } else result.rejected.push(...list);
  }
  const issuedRows = new Set(result.issuedRows);
  result.warnings = result.warnings.filter((w) => issuedRows.has(w.row));
  if (good.length > 0) {
    opts.issue(good);
    result.issued = good.length;
  }
  return result;
}
