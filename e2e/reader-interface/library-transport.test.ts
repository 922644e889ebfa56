import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { createServer } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startDriverService,
  type DriverBackend,
  type DriverCallRequest,
  type DriverCallResult,
  type DriverService,
} from '../../core/reader-interface-service/server.ts';
import {
  compileAgainstDriver,
  DriverClient,
  type ClientKind,
} from '../../test/harness/reader-interface/driver-support.ts';

/**
 * libSSCardDriver.so's own work, through a C program and Python ctypes: the request it builds
 * from the C arguments (GBK → UTF-8 JSON), the answer it writes back (UTF-8 → GBK), its return
 * codes, one kept-alive connection, and -11 when no service answers. A recording backend
 * stands in for the interface (which e2e/reader-interface/driver.test.ts runs end to end).
 */
class EchoBackend implements DriverBackend {
  calls: DriverCallRequest[] = [];
  async call(request: DriverCallRequest): Promise<DriverCallResult> {
    this.calls.push(request);
    const fn = request.function;
    if (fn === 'iVerifyPIN') return { functionName: fn, code: -51, pOutInfo: '2|' };
    if (fn === 'iGetCardType') return { functionName: fn, code: 0, pOutInfo: '3|', pCardType: '3' };
    if (fn === 'iGetReaderInfo')
      return {
        functionName: fn,
        code: 0,
        pOutInfo: '',
        pReaderSN: 'SSCARD-LAB-01',
        pPsamTermNo: '410000000001',
      };
    if (fn === 'iReadCardBas' && request.iType === 9) return { functionName: fn, code: 0, pOutInfo: '😀|' }; // no GBK form
    const params = Object.entries(request)
      .filter(([k]) => k !== 'function')
      .map(([k, v]) => `${k}=${typeof v}:${String(v)}`);
    return { functionName: fn, code: 0, pOutInfo: `张三|${params.join('|')}|` };
  }
  queuePinEntries(): void {}
  cardManagementAuth(): string {
    return '';
  }
}

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

let backend: EchoBackend;
let service: DriverService;

beforeAll(async () => {
  backend = new EchoBackend();
  service = await startDriverService({ backend, port: 0 });
});
afterAll(() => service.close());

describe.each<ClientKind>(['c', 'python'])('libSSCardDriver.so through %s', (kind) => {
  let client: DriverClient;
  beforeAll(() => {
    client = new DriverClient(kind, { SSCARD_DRIVER_URL: service.url });
  });
  afterAll(() => client.close());

  it('sends the C arguments by their names, strings from GBK, and writes pOutInfo back in GBK', async () => {
    const a = await client.call('iReadCard', 1, 2, '410000|张三|', 'EF05|01|');
    expect(a.code).toBe(0);
    expect(backend.calls.at(-1)).toEqual({
      function: 'iReadCard',
      iType: 1,
      iAuthType: 2,
      pCardInfo: '410000|张三|',
      pFileAddr: 'EF05|01|',
    });
    expect(a.out).toBe(
      '张三|iType=number:1|iAuthType=number:2|pCardInfo=string:410000|张三||pFileAddr=string:EF05|01||',
    );
    expect(a.raw.subarray(0, 4)).toEqual(iconv.encode('张三', 'gbk'));
  });

  it('returns the interface code, and the outputs of iGetCardType and iGetReaderInfo', async () => {
    expect(await client.call('iVerifyPIN', 1)).toMatchObject({ code: -51, out: '2|' });
    expect(await client.call('iGetCardType')).toMatchObject({ code: 0, out: '3', out2: '3|' });
    expect(await client.call('iGetReaderInfo')).toMatchObject({
      code: 0,
      out: 'SSCARD-LAB-01',
      out2: '410000000001',
    });
    const debit = await client.call('iDoDebit', 1, '410000|', '12.50|');
    expect(debit.code).toBe(0);
    expect(backend.calls.at(-1)).toEqual({
      function: 'iDoDebit',
      iType: 1,
      pCardInfo: '410000|',
      pPayInfo: '12.50|',
    });
  });

  it("refuses input that is not GBK (-41) and output the caller's charset cannot hold (-41), sending nothing", async () => {
    const before = backend.calls.length;
    const bad = await client.call('iReadCardBas_HSM_Step2', Buffer.from([0x81, 0x20]));
    expect(bad.code).toBe(-41);
    expect(bad.out).toContain('pKey');
    expect(backend.calls.length).toBe(before);
    expect((await client.call('iReadCardBas', 9)).code).toBe(-41);
  });

  it('keeps one connection for many calls', async () => {
    const before = service.connectionsAccepted();
    for (let i = 0; i < 20; i++) expect((await client.call('iReadCardBas', 1)).code).toBe(0);
    expect(service.connectionsAccepted() - before).toBeLessThanOrEqual(1);
  });
});

describe('libSSCardDriver.so settings and failures', () => {
  it('answers -11 with the reason when no service listens (读卡器连接错误)', async () => {
    const port = await freePort();
    const client = new DriverClient('c', { SSCARD_DRIVER_URL: `http://127.0.0.1:${port}` });
    try {
      const a = await client.call('iReadCardBas', 1);
      expect(a.code).toBe(-11);
      expect(a.out).toContain('读卡服务未运行');
      expect(a.out).toContain(String(port));
      expect((await client.call('iVerifyPIN', 1)).code).toBe(-11);
    } finally {
      await client.close();
    }
  });

  it('answers -11 for a URL it cannot use', async () => {
    const client = new DriverClient('python', { SSCARD_DRIVER_URL: 'https://127.0.0.1:1' });
    try {
      const a = await client.call('iReadCardBas', 1);
      expect(a.code).toBe(-11);
      expect(a.out).toContain('http://');
    } finally {
      await client.close();
    }
  });

  it('reconnects when the service restarted between two calls', async () => {
    const port = await freePort();
    const b = new EchoBackend();
    let s = await startDriverService({ backend: b, port });
    const client = new DriverClient('c', { SSCARD_DRIVER_URL: `http://127.0.0.1:${port}` });
    try {
      expect((await client.call('iReadCardBas', 1)).code).toBe(0);
      await s.close();
      expect((await client.call('iReadCardBas', 1)).code).toBe(-11);
      s = await startDriverService({ backend: b, port });
      expect((await client.call('iReadCardBas', 1)).code).toBe(0);
    } finally {
      await client.close();
      await s.close();
    }
  });

  it('works in a child after fork(): the child opens its own connection, the parent keeps its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sscard-fork-'));
    const src = join(dir, 'fork-client.c');
    writeFileSync(
      src,
      `#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sscard_driver.h"
int main(void) {
  char out[1024];
  long a = iReadCardBas(1, out);
  pid_t p = fork();
  if (p == 0) { printf("child %ld\\n", iReadCardBas(1, out)); fflush(stdout); _exit(0); }
  waitpid(p, NULL, 0);
  printf("parent %ld %ld\\n", a, iReadCardBas(1, out));
  return 0;
}
`,
    );
    const exe = compileAgainstDriver(src, 'fork-client');
    // Asynchronously: the service answers from this very process.
    const { stdout: out } = await promisify(execFile)(exe, {
      env: { ...process.env, SSCARD_DRIVER_URL: service.url },
      encoding: 'utf8',
    });
    expect(out).toBe('child 0\nparent 0 0\n');
  });

  it('writes UTF-8 when SSCARD_DRIVER_CHARSET=UTF-8, and refuses output longer than the buffer (-42)', async () => {
    const utf8 = new DriverClient('c', { SSCARD_DRIVER_URL: service.url, SSCARD_DRIVER_CHARSET: 'UTF-8' });
    const small = new DriverClient('c', { SSCARD_DRIVER_URL: service.url, SSCARD_DRIVER_OUTBUF_SIZE: '16' });
    try {
      const a = await utf8.call('iReadCardBas', 1);
      expect(a.raw.subarray(0, 6).toString('utf8')).toBe('张三');
      const b = await small.call('iReadCardBas', 1);
      expect(b.code).toBe(-42);
      expect(b.out).toBe('');
    } finally {
      await utf8.close();
      await small.close();
    }
  });
});
