import { listPcscReaders } from '../device/pcsc.ts';
import { PcscReader } from '../device/pcsc-reader.ts';
import type { ApduTrace } from '../device/trace.ts';
import type { CoreOptions } from '../core/api/create-core.ts';

/** PC/SC for the core in a Node host (web host, Electron main). No pcscd: an empty list. */
export const nodePcsc: NonNullable<CoreOptions['pcsc']> = {
  list() {
    try {
      return listPcscReaders();
    } catch {
      return [];
    }
  },
  open: (name: string, trace: ApduTrace) => new PcscReader(name, { trace }),
};
