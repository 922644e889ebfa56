import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { importProblem, layerOf, LAYERS } from '../../scripts/eslint-layers.js';

const eslint = new ESLint();

/** Lints `code` as if it were the file `file` (which need not exist) and returns the layer errors. */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'layers/allowed-imports').map((m) => m.message);
}

describe('the layer rule (npm run lint)', () => {
  it('puts every product folder in exactly one layer, lowest first', () => {
    expect(LAYERS.map((l) => l.name)).toEqual([
      'foundation',
      'card',
      'device',
      'services',
      'qa',
      'api',
      'shells',
    ]);
    expect(layerOf('core/db/open.ts')).toBe(0);
    expect(layerOf('core/card/apdu.ts')).toBe(1);
    expect(layerOf('core/pos/terminal.ts')).toBeGreaterThan(layerOf('core/ledger/ledger.ts'));
    expect(layerOf('core/api/contract.ts')).toBeLessThan(layerOf('cli/main.ts'));
    expect(layerOf('renderer/app.tsx')).toBe(-1);
    expect(layerOf('core/reader-interface/interface.ts')).toBe(layerOf('core/scenario/engine.ts'));
  });

  it('puts the reader service with the QA kit: above the till and the host, below the Api', async () => {
    expect(layerOf('core/reader-interface-service/server.ts')).toBe(layerOf('core/conformance/runner.ts'));
    expect(layerOf('core/reader-interface-service/server.ts')).toBeGreaterThan(
      layerOf('core/pos/terminal.ts'),
    );
    expect(
      await layerErrors(
        'core/reader-interface-service/scratch.ts',
        "import { createCore } from '../api/create-core.ts';\nvoid createCore;\n",
      ),
    ).toHaveLength(1);
  });

  it('fails a foundation file that imports a feature above it', async () => {
    const errors = await layerErrors(
      'core/db/scratch.ts',
      "import { PosTerminal } from '../pos/terminal.ts';\nvoid PosTerminal;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('the foundation layer may not import the services layer');
  });

  it('fails the card layer importing the readers, the services importing the api', async () => {
    expect(
      await layerErrors(
        'core/card/scratch.ts',
        "export { PcscReader } from '../../device/pcsc-reader.ts';\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'core/host/scratch.ts',
        "import { createCore } from '../api/create-core.ts';\nvoid createCore;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'core/scenario/scratch.ts',
        "const m = await import('../api/create-core.ts');\nvoid m;\n",
      ),
    ).toHaveLength(1);
  });

  it('lets a layer import itself and what is below it', async () => {
    expect(
      await layerErrors(
        'core/pos/scratch.ts',
        "import { openLedgerDb } from '../db/open.ts';\nimport { Ledger } from '../ledger/ledger.ts';\nvoid openLedgerDb; void Ledger;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        'cli/scratch.ts',
        "import { createCore } from '../core/api/create-core.ts';\nvoid createCore;\n",
      ),
    ).toEqual([]);
  });

  it('lets the renderer see only the Api types and the pure machines', async () => {
    expect(
      await layerErrors(
        'renderer/scratch.ts',
        "import type { TillView } from '../core/api/events.ts';\nexport type T = TillView;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        'renderer/scratch.ts',
        "import { createCore } from '../core/api/create-core.ts';\nvoid createCore;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'renderer/scratch.ts',
        "import type { Ledger } from '../core/ledger/ledger.ts';\nexport type L = Ledger;\n",
      ),
    ).toHaveLength(1);
    expect(importProblem('renderer/x.ts', 'state-machines/terminal.machine.ts', false)).toBeNull();
  });

  it('keeps the machines pure: types only from core/', () => {
    expect(importProblem('state-machines/x.ts', 'core/host/types.ts', true)).toBeNull();
    expect(importProblem('state-machines/x.ts', 'core/host/types.ts', false)).toMatch(/pure/);
  });

  it('fails product code under core/ that imports a dev dependency, not a test', async () => {
    const code = "import fc from 'fast-check';\nvoid fc;\n";
    const errors = await layerErrors('core/card/scratch.ts', code);
    expect(errors).toEqual([
      'core/card/scratch.ts is product code and may not import the dev dependency fast-check',
    ]);
    expect(await layerErrors('core/card/scratch.test.ts', code)).toEqual([]);
  });

  it('leaves tests and the test harness free to import anything', () => {
    expect(importProblem('core/db/x.test.ts', 'core/api/create-core.ts', false)).toBeNull();
    expect(importProblem('test/harness/pos/x.ts', 'core/api/create-core.ts', false)).toBeNull();
  });
});
