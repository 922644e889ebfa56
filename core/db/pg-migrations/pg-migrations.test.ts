import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PgMigration } from '../pg-migrate.ts';
import { PG_MIGRATIONS } from './index.ts';

const dir = new URL('.', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => /^\d+-.+\.ts$/.test(f) && !f.endsWith('.test.ts'))
  .sort();

describe('PostgreSQL migrations, one file per version', () => {
  it('has migration files', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)("%s: the file's number is its migration's version", async (file) => {
    const { migration } = (await import(new URL(file, dir).href)) as { migration: PgMigration };
    expect(migration.version).toBe(Number(file.split('-')[0]));
    expect(migration.name.length).toBeGreaterThan(0);
    expect(migration.sql.trim().length).toBeGreaterThan(0);
  });

  it('the index lists every file, in order', async () => {
    const fromFiles: PgMigration[] = [];
    for (const file of files) {
      fromFiles.push(((await import(new URL(file, dir).href)) as { migration: PgMigration }).migration);
    }
    expect(PG_MIGRATIONS).toEqual(fromFiles);
    const versions = PG_MIGRATIONS.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });
});
