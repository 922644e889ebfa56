/**
 * The CSV reader for batch files (RFC 4180), strict where leniency would guess, so that a file
 * that is not valid CSV is refused as a whole, naming the line, instead of being misread.
 */

export interface CsvRecord {
  fields: string[];
  /** Physical line (1-based) where the record starts; a quoted line break makes records span lines. */
  line: number;
}

export type CsvParse =
  { ok: true; records: CsvRecord[] } | { ok: false; line: number; zh: string; en: string };

/**
 * RFC 4180, read strictly where leniency would guess: a quote may only open a field and must be
 * closed, and a closing quote must be followed by a comma or the end of the line. Line ends may be
 * CRLF, LF or a lone CR; a line break inside quotes is kept as LF. A final line end does not make
 * an empty record.
 */
export function parseCsv(input: string): CsvParse {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const n = text.length;
  const records: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  const fail = (at: number, zh: string, en: string): CsvParse => ({ ok: false, line: at, zh, en });
  while (i < n) {
    const record: CsvRecord = { fields: [], line };
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= n) {
            return fail(
              opened,
              `第 ${opened} 行的引号未闭合：以双引号开始的字段须以双引号结束`,
              `Line ${opened}: a quoted field is never closed (missing closing double quote)`,
            );
          }
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\r' || c === '\n') {
            i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
            line++;
            value += '\n';
            continue;
          }
          value += c;
          i++;
        }
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
          return fail(
            line,
            `第 ${line} 行：引号闭合后应为逗号或换行，却是“${next}”（字段中的双引号须写成两个双引号 ""）`,
            `Line ${line}: '${next}' after a closing quote; expected a comma or a line end (write a quote inside a field as "")`,
          );
        }
      } else {
        const start = i;
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') {
            return fail(
              line,
              `第 ${line} 行：未加引号的字段中出现双引号（含双引号的字段须整体用双引号括起，内部写成 ""）`,
              `Line ${line}: a double quote inside an unquoted field (quote the whole field and write the quote as "")`,
            );
          }
          i++;
        }
        value = text.slice(start, i);
      }
      record.fields.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r' || text[i] === '\n') {
        i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
      }
      break;
    }
    records.push(record);
  }
  return { ok: true, records };
}
