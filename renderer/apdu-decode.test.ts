import { describe, expect, it } from 'vitest';
import {
  decodeCommand,
  decodeEntry,
  decodeStatus,
  decodeTrace,
  maskPinCommand,
  type TraceLike,
} from './apdu-decode.ts';
import { ApduTrace } from '../device/trace.ts';
import { fromHex } from '../core/card/hex.ts';

const SELECT_SSSE = '00A404000F7378312E73682EC9E7BBE1B1A3D5CF';

describe('commands, in both languages', () => {
  it('SELECT: the SSSE, the debit application, files by id, the MF', () => {
    const ssse = decodeCommand(SELECT_SSSE);
    expect(ssse).toMatchObject({ kind: 'select', mnemonic: 'SELECT' });
    expect(ssse.text.zh).toBe('SELECT SSSE（选择社保应用）');
    expect(ssse.text.en).toContain('SELECT SSSE');
    const debit = decodeCommand('00A4040008A000000333010101');
    expect(debit.text.zh).toContain('借记应用');
    expect(debit.text.en).toContain('debit application');
    expect(decodeCommand('00A4020002EF05').text.zh).toBe('SELECT EF05（选择卡片基本信息文件）');
    expect(decodeCommand('00A4000002EF06').text.en).toBe('SELECT EF06 (holder information)');
    expect(decodeCommand('00A40000023F00').text.zh).toContain('主文件');
    expect(decodeCommand('00A4040003112233').text.en).toBe('SELECT AID 112233 (by name)');
  });

  it('READ RECORD: record numbers, SFI and tag addressing, with the field read', () => {
    const byRec = decodeCommand('00B2072C0B');
    expect(byRec.kind).toBe('read');
    expect(byRec.text.en).toBe('READ RECORD EF05 rec 7 (card number)');
    expect(byRec.text.zh).toBe('读 EF05 第 7 条记录（卡号）');
    const byTag = decodeCommand('00B2072800');
    expect(byTag.text.en).toBe('READ RECORD EF05 tag 07 (card number)');
    expect(byTag.text.zh).toBe('按标识读 EF05 记录 07（卡号）');
    expect(decodeCommand('00B2013414').text.zh).toBe('读 EF06 第 1 条记录（社会保障号码）');
    expect(decodeCommand('00B2093000').text.en).toBe('READ RECORD EF06 tag 09 (name)');
    // P2=00: the tag names the field even without a file.
    expect(decodeCommand('00B2080014').text.zh).toBe('按标识读 当前文件 记录 08（社会保障号码）');
    expect(decodeCommand('00B2080014').text.en).toBe(
      'READ RECORD current EF tag 08 (social security number)',
    );
    // P2=04 in the currently selected EF: the trace's context names it.
    expect(decodeCommand('00B207040B', { file: 'EF05' }).text.en).toBe(
      'READ RECORD EF05 rec 7 (card number)',
    );
    expect(decodeCommand('00B207040B').text.zh).toBe('读 当前文件 第 7 条记录');
    expect(decodeCommand('00B2010C00', { app: 'debit' }).text.zh).toContain('借记应用 SFI 1');
  });

  it('authentication, responses and the rest', () => {
    expect(decodeCommand('0084000008')).toMatchObject({ kind: 'auth', mnemonic: 'GET CHALLENGE' });
    expect(decodeCommand('0084000008').text.zh).toContain('8 字节随机数');
    const ext = decodeCommand('0082000A10' + '00'.repeat(16));
    expect(ext.kind).toBe('auth');
    expect(ext.text.zh).toContain('外部认证');
    expect(ext.text.en).toContain('key 0A');
    expect(decodeCommand('00C0000018').text.en).toBe('GET RESPONSE (24 bytes)');
    expect(decodeCommand('00C0000018').text.zh).toBe('GET RESPONSE 取回 24 字节响应');
    expect(decodeCommand('00B0000010').mnemonic).toBe('READ BINARY');
    expect(decodeCommand('80A8000002830000').kind).toBe('finance');
    const unknown = decodeCommand('90FF000000');
    expect(unknown.kind).toBe('other');
    expect(unknown.text.zh).toContain('未知指令');
    expect(unknown.text.en).toContain('unknown command');
    expect(decodeCommand('00A4').text.en).toContain('malformed');
  });
});

describe('PIN commands stay masked', () => {
  it('VERIFY as the trace records it: six stars, never digits', () => {
    const v = decodeCommand('0020000003******');
    expect(v).toMatchObject({ kind: 'pin', mnemonic: 'VERIFY PIN' });
    expect(v.text.en).toBe('VERIFY PIN ****** (check the card PIN)');
    expect(v.text.zh).toBe('VERIFY PIN ******（校验社保卡密码）');
  });

  it('a PIN command that arrives in clear is masked by the decoder too', () => {
    for (const clear of [
      '0020000003258014',
      '805E010007123456FF802460',
      '002C000003731904',
      '0024000003111111',
    ]) {
      const d = decodeCommand(clear);
      expect(d.kind).toBe('pin');
      const digits = clear.slice(10);
      expect(d.text.zh).not.toContain(digits);
      expect(d.text.en).not.toContain(digits);
      expect(maskPinCommand(clear)).toBe(clear.slice(0, 10) + '*'.repeat(clear.length - 10));
    }
    expect(maskPinCommand(SELECT_SSSE)).toBe(SELECT_SSSE);
    const e = decodeEntry({ seq: 1, command: '0020000003258014', response: '9000', sw: '9000' });
    expect(e.command).toBe('0020000003******');
    expect(JSON.stringify(e)).not.toContain('258014');
  });

  it('end to end with the device trace: what the till records decodes with stars only', () => {
    const trace = new ApduTrace(() => new Date('2026-03-02T02:00:00Z'));
    trace.record('r', fromHex('0020000003258014'), fromHex('63C2'));
    trace.record('r', fromHex('805E010007123456FF802460'), fromHex('9000'));
    const [verify, change] = decodeTrace(trace.list());
    expect(verify!.line.zh).toBe('VERIFY PIN ******（校验社保卡密码） → 63C2 = 密码错误，还可尝试 2 次');
    expect(verify!.line.en).toBe('VERIFY PIN ****** (check the card PIN) → 63C2 = wrong PIN, 2 tries left');
    expect(change!.cmd.text.zh).toContain('CHANGE PIN **************');
    const all = JSON.stringify(decodeTrace(trace.list()));
    expect(all).not.toMatch(/258014|123456|802460/);
  });
});

describe('status words, by family, in both languages', () => {
  it('9000 and 61xx are fine', () => {
    expect(decodeStatus('9000')).toMatchObject({
      severity: 'ok',
      text: { zh: '9000 = 成功', en: '9000 = OK' },
    });
    const more = decodeStatus('6118');
    expect(more.severity).toBe('ok');
    expect(more.meaning.zh).toBe('还有 24 字节响应待取（GET RESPONSE）');
    expect(more.meaning.en).toBe('24 bytes waiting (GET RESPONSE)');
  });

  it('6Cxx asks for another Le', () => {
    const s = decodeStatus('6C0B');
    expect(s.severity).toBe('warn');
    expect(s.meaning.zh).toContain('Le=0B');
    expect(s.meaning.en).toBe('wrong Le, re-issue with Le=0B');
  });

  it('63Cx: tries left; 63C0 and 6983: blocked; after an authentication, the key', () => {
    expect(decodeStatus('63C2').text.zh).toBe('63C2 = 密码错误，还可尝试 2 次');
    expect(decodeStatus('63C2').text.en).toBe('63C2 = wrong PIN, 2 tries left');
    expect(decodeStatus('63C1').meaning.en).toBe('wrong PIN, 1 try left');
    expect(decodeStatus('63C2').severity).toBe('warn');
    expect(decodeStatus('63C0')).toMatchObject({ severity: 'error' });
    expect(decodeStatus('63C0').meaning.zh).toContain('已无剩余次数');
    expect(decodeStatus('6983').text.zh).toBe('6983 = 密码已锁定（认证方法锁定）');
    expect(decodeStatus('6983').meaning.en).toContain('PIN blocked');
    expect(decodeStatus('6983', { kind: 'auth' }).meaning.zh).toBe('认证密钥已锁定');
    expect(decodeStatus('63C1', { kind: 'auth' }).meaning.zh).toBe('认证失败，还可尝试 1 次');
  });

  it('6985 after VERIFY is the initial PIN; after other commands, conditions not met', () => {
    expect(decodeStatus('6985', { kind: 'pin' }).text.zh).toBe('6985 = 初始密码（使用条件不满足）');
    expect(decodeStatus('6985', { kind: 'pin' }).meaning.en).toBe(
      'initial PIN: conditions of use not satisfied',
    );
    expect(decodeStatus('6985').meaning.zh).toBe('初始密码（使用条件不满足）');
    expect(decodeStatus('6985', { kind: 'read' }).meaning.zh).toBe('使用条件不满足');
    expect(decodeStatus('6985', { kind: 'read' }).severity).toBe('error');
  });

  it('the ISO / PBOC errors, unknown words and no answer at all', () => {
    const table: [string, string, string][] = [
      ['6581', '存储器故障', 'memory failure'],
      ['6700', '长度错误（Lc/Le）', 'wrong length (Lc/Le)'],
      ['6982', '安全状态不满足（需先认证）', 'security status not satisfied (authenticate first)'],
      ['6A82', '文件或应用未找到', 'file or application not found'],
      ['6A83', '记录未找到', 'record not found'],
      ['6A86', 'P1/P2 参数错误', 'incorrect P1/P2'],
      ['6D00', '指令不支持', 'instruction not supported'],
      ['6E00', 'CLA 不支持', 'class not supported'],
      ['9303', '应用已永久锁定', 'application permanently locked'],
    ];
    for (const [sw, zh, en] of table) {
      const s = decodeStatus(sw);
      expect(s).toMatchObject({ sw, severity: 'error', meaning: { zh, en } });
    }
    expect(decodeStatus('6a83').sw).toBe('6A83');
    expect(decodeStatus('6F00').meaning).toEqual({ zh: '未知状态字', en: 'unknown status word' });
    const none = decodeStatus('', null, 'card removed');
    expect(none).toMatchObject({
      severity: 'error',
      text: { zh: '无应答：card removed', en: 'no answer: card removed' },
    });
  });
});

describe('a whole trace, in order', () => {
  it('follows SELECT for READ RECORD of the current EF, and splits data from the status word', () => {
    const entries: TraceLike[] = [
      { seq: 1, command: SELECT_SSSE, response: '6118', sw: '6118' },
      { seq: 2, command: '00C0000018', response: '6F16AA9000', sw: '9000' },
      { seq: 3, command: '00A4020002EF05', response: '9000', sw: '9000' },
      { seq: 4, command: '00B207040B', response: '07094334343031303034389000', sw: '9000' },
      { seq: 5, command: '00A4040008A000000333010101', response: '9000', sw: '9000' },
      { seq: 6, command: '00B2010C00', response: '70019000', sw: '9000' },
      { seq: 7, command: '00B2FF2C00', response: '6A83', sw: '6A83' },
    ];
    const d = decodeTrace(entries);
    expect(d[0]!.line.en).toBe(
      'SELECT SSSE (the social security application) → 6118 = 24 bytes waiting (GET RESPONSE)',
    );
    expect(d[1]!.responseData).toBe('6F16AA');
    expect(d[3]!.cmd.text.zh).toBe('读 EF05 第 7 条记录（卡号）');
    expect(d[3]!.responseData).toBe('0709433434303130303438');
    expect(d[5]!.cmd.text.en).toBe('READ RECORD debit SFI 1 rec 1 (bank card data (PAN, expiry))');
    expect(d[6]!.status.severity).toBe('error');
    expect(d[6]!.line.zh).toBe('读 EF05 第 255 条记录 → 6A83 = 记录未找到');
  });
});
