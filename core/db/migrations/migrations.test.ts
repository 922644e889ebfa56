import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Migration } from '../migrate.ts';
import { MIGRATIONS } from './index.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.endsWith('.test.ts'))
  .sort();

describe('ledger migrations: one file per schema version', () => {
  it('every file in the folder is named NNN-name.ts', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f).toMatch(/^\d{3}-[a-z0-9-]+\.ts$/);
  });

  it.each(files)("%s: the file's number is its migration's version", async (f) => {
    const { migration } = (await import(/* @vite-ignore */ new URL(f, import.meta.url).href)) as {
      migration: Migration;
    };
    expect(migration.version).toBe(Number(f.slice(0, 3)));
  });

  it('the index lists every file once, in version order', async () => {
    const fromFiles = await Promise.all(
      files.map(
        async (f) =>
          ((await import(/* @vite-ignore */ new URL(f, import.meta.url).href)) as { migration: Migration })
            .migration,
      ),
    );
    expect(MIGRATIONS).toEqual(fromFiles);
    expect(MIGRATIONS.map((m) => m.version)).toEqual(
      [...MIGRATIONS.map((m) => m.version)].sort((a, b) => a - b),
    );
  });
});
