/**
 * Bilingual decoding of the APDU trace for the screens (APDU 跟踪, 培训演示). Pure: no DOM, no
 * React, no core imports, so it runs in the browser and in unit tests alike.
 *
 * PIN secrecy: the trace already masks the data of PIN commands (VERIFY, CHANGE PIN…). The
 * decoder never unmasks anything, and masks again any PIN command that reaches it in clear.
 */

export type DecodeLang = 'zh' | 'en';
export interface Bi {
  zh: string;
  en: string;
}
export type Severity = 'ok' | 'warn' | 'error';
/** Command families, for the trace filter. */
export type CommandKind = 'select' | 'read' | 'auth' | 'pin' | 'finance' | 'other';

export const COMMAND_KINDS: readonly CommandKind[] = ['select', 'read', 'auth', 'pin', 'finance', 'other'];

export const KIND_LABELS: Record<CommandKind, Bi> = {
  select: { zh: 'SELECT 选择', en: 'SELECT' },
  read: { zh: '读数据', en: 'Reads' },
  auth: { zh: '认证', en: 'Authentication' },
  pin: { zh: '密码', en: 'PIN' },
  finance: { zh: '金融应用', en: 'Financial' },
  other: { zh: '其他', en: 'Other' },
};

export interface DecodedCommand {
  kind: CommandKind;
  /** The ISO/PBOC mnemonic: 'SELECT', 'READ RECORD', 'VERIFY PIN'… */
  mnemonic: string;
  /** INS byte as two hex digits ('20' for VERIFY), '' when unreadable. */
  ins: string;
  text: Bi;
  /** For SELECT: what is selected afterwards ('SSSE', 'debit', 'EF05'…), for the trace's context. */
  selects?: { app?: 'SSSE' | 'debit' | string; file?: string };
}

export interface DecodedStatus {
  sw: string;
  severity: Severity;
  /** The meaning alone: 密码错误，还可尝试 2 次. */
  meaning: Bi;
  /** 'SW = meaning': 63C2 = 密码错误，还可尝试 2 次. */
  text: Bi;
}

export interface DecodedEntry {
  seq: number;
  /** The command as hex, PIN data masked with '*' (never unmasked). */
  command: string;
  /** Response data (hex) without the status word. */
  responseData: string;
  cmd: DecodedCommand;
  status: DecodedStatus;
  /** One line: command → SW = meaning. */
  line: Bi;
}

/** The fields the decoder reads from a trace entry (device/trace.ts TraceEntry). */
export interface TraceLike {
  seq: number;
  command: string;
  response: string;
  sw: string;
  error?: string;
}

/** The card's context while a trace is read in order: the selected application and EF. */
export interface DecodeContext {
  app?: string;
  file?: string;
}

export const SSSE_AID = '7378312E73682EC9E7BBE1B1A3D5CF';
export const DEBIT_AID = 'A000000333010101';

/** Commands whose data carries a PIN (VERIFY 20, CHANGE REFERENCE DATA 24, RESET RETRY 2C, PIN 5E). */
const PIN_INS = new Set(['20', '24', '2C', '5E']);

export function pick(b: Bi, lang: DecodeLang): string {
  return b[lang];
}

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/**
 * A command's hex with everything after the header and Lc of a PIN command masked, whether
 * it came masked or (which the trace never does) in clear. Other commands are returned as is.
 */
export function maskPinCommand(hex: string): string {
  const h = hex.replace(/\s+/g, '').toUpperCase();
  if (h.length <= 10) return h;
  const ins = h.slice(2, 4);
  if (!PIN_INS.has(ins)) return h;
  return h.slice(0, 10) + '*'.repeat(h.length - 10);
}

const EF05_FIELDS: Record<number, Bi> = {
  0x01: { zh: '卡识别码', en: 'card identification code' },
  0x02: { zh: '卡类别', en: 'card type' },
  0x03: { zh: '规范版本，即卡的代别', en: 'spec version = generation' },
  0x04: { zh: '初始化机构编号', en: 'initialising institution' },
  0x05: { zh: '发卡日期', en: 'issue date' },
  0x06: { zh: '卡有效期', en: 'expiry date' },
  0x07: { zh: '卡号', en: 'card number' },
};
const EF06_FIELDS: Record<number, Bi> = {
  0x08: { zh: '社会保障号码', en: 'social security number' },
  0x09: { zh: '姓名', en: 'name' },
  0x4e: { zh: '姓名扩展', en: 'name extension' },
  0x0a: { zh: '性别', en: 'sex' },
  0x0b: { zh: '民族', en: 'ethnic group' },
  0x0c: { zh: '出生地', en: 'place of birth' },
  0x0d: { zh: '出生日期', en: 'date of birth' },
};
const FILE_NAMES: Record<string, Bi> = {
  '3F00': { zh: '主文件 MF', en: 'master file' },
  EF05: { zh: '卡片基本信息', en: 'card information' },
  EF06: { zh: '持卡人基本信息', en: 'holder information' },
  EF07: { zh: '受密钥保护的二进制文件', en: 'key-protected binary file' },
  EF08: { zh: '受密钥保护的二进制文件', en: 'key-protected binary file' },
  DF04: { zh: '医疗保险应用', en: 'medical insurance application' },
};

/** The field a tag names: tags are unique across EF05 and EF06, so the file may be unknown. */
function fieldOf(file: string, tag: number): Bi | null {
  if (file === 'EF05') return EF05_FIELDS[tag] ?? null;
  if (file === 'EF06') return EF06_FIELDS[tag] ?? null;
  if (file === '') return EF05_FIELDS[tag] ?? EF06_FIELDS[tag] ?? null;
  return null;
}

/** The field a record number addresses; EF06 past record 2 depends on the card's version. */
function fieldOfRecord(file: string, rec: number): Bi | null {
  if (file === 'EF05') return EF05_FIELDS[rec] ?? null;
  if (file === 'EF06') return rec === 1 ? EF06_FIELDS[0x08]! : rec === 2 ? EF06_FIELDS[0x09]! : null;
  if (file.startsWith('debit'))
    return { zh: '银行卡信息（卡号、有效期）', en: 'bank card data (PAN, expiry)' };
  return null;
}

function withField(text: Bi, field: Bi | null): Bi {
  return field ? { zh: `${text.zh}（${field.zh}）`, en: `${text.en} (${field.en})` } : text;
}

function fileForSfi(sfi: number, ctx: DecodeContext): string {
  if (ctx.app === 'debit' && sfi >= 1 && sfi <= 4) return `debit SFI ${sfi}`;
  if (sfi === 5) return 'EF05';
  if (sfi === 6) return 'EF06';
  if (sfi === 7) return 'EF07';
  if (sfi === 8) return 'EF08';
  return `SFI ${sfi}`;
}

function fileLabel(file: string): Bi {
  if (file.startsWith('debit SFI ')) {
    const n = file.slice('debit SFI '.length);
    return { zh: `借记应用 SFI ${n}`, en: `debit SFI ${n}` };
  }
  return { zh: file, en: file };
}

interface Parsed {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  /** Lc (case 3/4) or Le (case 2), or null for a bare header. */
  p3: number | null;
  /** Data field hex; may contain '*' (masked). */
  data: string;
  hasData: boolean;
}

function parse(hex: string): Parsed | null {
  const h = hex.replace(/\s+/g, '').toUpperCase();
  if (h.length < 8 || !/^[0-9A-F]{8}/.test(h)) return null;
  const b = (i: number) => parseInt(h.slice(i * 2, i * 2 + 2), 16);
  const p3 = h.length >= 10 && /^[0-9A-F]{2}$/.test(h.slice(8, 10)) ? b(4) : null;
  const hasData = h.length > 10;
  const data = hasData && p3 !== null ? h.slice(10, 10 + p3 * 2) : hasData ? h.slice(10) : '';
  return { cla: b(0), ins: b(1), p1: b(2), p2: b(3), p3, data, hasData };
}

const bi = (zh: string, en: string): Bi => ({ zh, en });

/** Decodes one command APDU (hex, possibly masked) in both languages. */
export function decodeCommand(hex: string, ctx: DecodeContext = {}): DecodedCommand {
  const masked = maskPinCommand(hex);
  const a = parse(masked);
  if (!a) {
    return {
      kind: 'other',
      mnemonic: '?',
      ins: '',
      text: bi(
        `无法解析的指令（${masked.length / 2} 字节）`,
        `malformed command (${masked.length / 2} bytes)`,
      ),
    };
  }
  const ins = hex2(a.ins);
  const key = (a.cla << 8) | a.ins;
  const cmd = (kind: CommandKind, mnemonic: string, text: Bi, selects?: DecodedCommand['selects']) => ({
    kind,
    mnemonic,
    ins,
    text,
    ...(selects ? { selects } : {}),
  });
  switch (key) {
    case 0x00a4: {
      const d = a.data;
      if (a.p1 === 0x04) {
        if (d === SSSE_AID)
          return cmd(
            'select',
            'SELECT',
            bi('SELECT SSSE（选择社保应用）', 'SELECT SSSE (the social security application)'),
            { app: 'SSSE' },
          );
        if (d === DEBIT_AID)
          return cmd(
            'select',
            'SELECT',
            bi(`SELECT 借记应用 ${d}（选择金融借记应用）`, `SELECT debit application ${d}`),
            { app: 'debit' },
          );
        return cmd('select', 'SELECT', bi(`SELECT AID ${d}（按名称选择应用）`, `SELECT AID ${d} (by name)`), {
          app: d,
        });
      }
      if (!d || d === '3F00')
        return cmd('select', 'SELECT', bi('SELECT MF 3F00（选择主文件）', 'SELECT MF 3F00 (master file)'), {
          app: 'MF',
        });
      const name = FILE_NAMES[d];
      return cmd(
        'select',
        'SELECT',
        name
          ? bi(`SELECT ${d}（选择${name.zh}文件）`, `SELECT ${d} (${name.en})`)
          : bi(`SELECT ${d}（按文件标识选择）`, `SELECT ${d} (by file id)`),
        { file: d },
      );
    }
    case 0x00b2: {
      const sfi = a.p2 >> 3;
      const mode = a.p2 & 7;
      const file = sfi ? fileForSfi(sfi, ctx) : (ctx.file ?? '');
      const label = file ? fileLabel(file) : bi('当前文件', 'current EF');
      if (mode === 4) {
        const text = bi(`读 ${label.zh} 第 ${a.p1} 条记录`, `READ RECORD ${label.en} rec ${a.p1}`);
        return cmd('read', 'READ RECORD', withField(text, file ? fieldOfRecord(file, a.p1) : null));
      }
      if (mode === 0) {
        const tag = hex2(a.p1);
        const text = bi(`按标识读 ${label.zh} 记录 ${tag}`, `READ RECORD ${label.en} tag ${tag}`);
        return cmd('read', 'READ RECORD', withField(text, fieldOf(file, a.p1)));
      }
      return cmd(
        'read',
        'READ RECORD',
        bi(`读记录 P1=${hex2(a.p1)} P2=${hex2(a.p2)}`, `READ RECORD P1=${hex2(a.p1)} P2=${hex2(a.p2)}`),
      );
    }
    case 0x00b0: {
      const offset = ((a.p1 & 0x7f) << 8) | a.p2;
      return cmd(
        'read',
        'READ BINARY',
        bi(`READ BINARY 读二进制文件（偏移 ${offset}）`, `READ BINARY (offset ${offset})`),
      );
    }
    case 0x00c0: {
      const n = a.p3 ?? 0;
      return cmd('read', 'GET RESPONSE', bi(`GET RESPONSE 取回 ${n} 字节响应`, `GET RESPONSE (${n} bytes)`));
    }
    case 0x0084: {
      const n = a.p3 ?? 0;
      return cmd(
        'auth',
        'GET CHALLENGE',
        bi(`GET CHALLENGE 取 ${n} 字节随机数`, `GET CHALLENGE (${n}-byte random)`),
      );
    }
    case 0x0082:
      return cmd(
        'auth',
        'EXTERNAL AUTHENTICATE',
        bi(
          `EXTERNAL AUTHENTICATE（外部认证：PSAM 计算的密文，密钥 ${hex2(a.p2)}）`,
          `EXTERNAL AUTHENTICATE (PSAM cryptogram, key ${hex2(a.p2)})`,
        ),
      );
    case 0x0088:
      return cmd(
        'auth',
        'INTERNAL AUTHENTICATE',
        bi('INTERNAL AUTHENTICATE（内部认证）', 'INTERNAL AUTHENTICATE'),
      );
    case 0x0020: {
      const pin = a.data || '';
      return cmd(
        'pin',
        'VERIFY PIN',
        pin
          ? bi(`VERIFY PIN ${pin}（校验社保卡密码）`, `VERIFY PIN ${pin} (check the card PIN)`)
          : bi('VERIFY PIN（查询剩余次数）', 'VERIFY PIN (ask for the tries left)'),
      );
    }
    case 0x805e:
      return cmd(
        'pin',
        'CHANGE PIN',
        bi(
          `CHANGE PIN ${a.data}（修改密码：旧密码‖FF‖新密码）`,
          `CHANGE PIN ${a.data} (old PIN ‖ FF ‖ new PIN)`,
        ),
      );
    case 0x845e:
      return cmd('pin', 'RELOAD PIN', bi(`RELOAD PIN ${a.data}（重装密码）`, `RELOAD PIN ${a.data}`));
    case 0x8424:
      return cmd(
        'pin',
        'PIN UNBLOCK',
        bi(`PIN UNBLOCK ${a.data}（解锁密码，带 MAC）`, `PIN UNBLOCK ${a.data} (with MAC)`),
      );
    case 0x0024:
      return cmd(
        'pin',
        'CHANGE REFERENCE DATA',
        bi(`CHANGE REFERENCE DATA ${a.data}（修改参考数据）`, `CHANGE REFERENCE DATA ${a.data}`),
      );
    case 0x002c:
      return cmd(
        'pin',
        'RESET RETRY COUNTER',
        bi(`RESET RETRY COUNTER ${a.data}（重置重试计数器）`, `RESET RETRY COUNTER ${a.data}`),
      );
    case 0x80a8:
      return cmd(
        'finance',
        'GET PROCESSING OPTIONS',
        bi('GET PROCESSING OPTIONS（获取处理选项，借记应用）', 'GET PROCESSING OPTIONS (debit application)'),
      );
    default:
      return cmd(
        'other',
        `${hex2(a.cla)}${ins}`,
        bi(`未知指令 CLA=${hex2(a.cla)} INS=${ins}`, `unknown command CLA=${hex2(a.cla)} INS=${ins}`),
      );
  }
}

const SW_MEANINGS: Record<string, Bi & { severity: Severity }> = {
  '9000': { zh: '成功', en: 'OK', severity: 'ok' },
  '6581': { zh: '存储器故障', en: 'memory failure', severity: 'error' },
  '6700': { zh: '长度错误（Lc/Le）', en: 'wrong length (Lc/Le)', severity: 'error' },
  '6981': { zh: '指令与文件结构不兼容', en: 'command incompatible with file structure', severity: 'error' },
  '6982': {
    zh: '安全状态不满足（需先认证）',
    en: 'security status not satisfied (authenticate first)',
    severity: 'error',
  },
  '6984': { zh: '引用数据无效', en: 'reference data invalidated', severity: 'error' },
  '6986': { zh: '不允许的指令（无当前文件）', en: 'command not allowed (no current EF)', severity: 'error' },
  '6988': { zh: '安全报文数据错误（MAC）', en: 'incorrect secure messaging data (MAC)', severity: 'error' },
  '6A80': { zh: '数据域错误', en: 'incorrect data field', severity: 'error' },
  '6A81': { zh: '功能不支持', en: 'function not supported', severity: 'error' },
  '6A82': { zh: '文件或应用未找到', en: 'file or application not found', severity: 'error' },
  '6A83': { zh: '记录未找到', en: 'record not found', severity: 'error' },
  '6A86': { zh: 'P1/P2 参数错误', en: 'incorrect P1/P2', severity: 'error' },
  '6A88': { zh: '引用数据未找到', en: 'referenced data not found', severity: 'error' },
  '6D00': { zh: '指令不支持', en: 'instruction not supported', severity: 'error' },
  '6E00': { zh: 'CLA 不支持', en: 'class not supported', severity: 'error' },
  '9303': { zh: '应用已永久锁定', en: 'application permanently locked', severity: 'error' },
};

/**
 * Decodes a status word ('63C2') in both languages. The command, when known, picks the
 * reading of the words that mean different things after different commands (63Cx, 6983, 6985).
 */
export function decodeStatus(
  sw: string,
  cmd?: Pick<DecodedCommand, 'kind'> | null,
  error?: string,
): DecodedStatus {
  const s = sw.toUpperCase();
  const out = (meaning: Bi, severity: Severity): DecodedStatus => ({
    sw: s,
    severity,
    meaning,
    text: s ? { zh: `${s} = ${meaning.zh}`, en: `${s} = ${meaning.en}` } : meaning,
  });
  if (!/^[0-9A-F]{4}$/.test(s)) {
    const why = error ?? '';
    return out(bi(why ? `无应答：${why}` : '无应答', why ? `no answer: ${why}` : 'no answer'), 'error');
  }
  const hi = s.slice(0, 2);
  const lo = parseInt(s.slice(2), 16);
  const auth = cmd?.kind === 'auth';
  if (hi === '61')
    return out(bi(`还有 ${lo} 字节响应待取（GET RESPONSE）`, `${lo} bytes waiting (GET RESPONSE)`), 'ok');
  if (hi === '6C') {
    const le = hex2(lo);
    return out(bi(`Le 不正确，请以 Le=${le} 重发`, `wrong Le, re-issue with Le=${le}`), 'warn');
  }
  if (hi === '63' && (lo & 0xf0) === 0xc0) {
    const left = lo & 0x0f;
    if (auth)
      return out(
        bi(
          `认证失败，还可尝试 ${left} 次`,
          `authentication failed, ${left} ${left === 1 ? 'try' : 'tries'} left`,
        ),
        left ? 'warn' : 'error',
      );
    return left
      ? out(
          bi(`密码错误，还可尝试 ${left} 次`, `wrong PIN, ${left} ${left === 1 ? 'try' : 'tries'} left`),
          'warn',
        )
      : out(
          bi('密码错误，已无剩余次数（密码已锁定）', 'wrong PIN, no tries left (the PIN is now blocked)'),
          'error',
        );
  }
  if (s === '6983')
    return out(
      auth
        ? bi('认证密钥已锁定', 'authentication key blocked')
        : bi('密码已锁定（认证方法锁定）', 'PIN blocked (authentication method blocked)'),
      'error',
    );
  if (s === '6985')
    return out(
      !cmd || cmd.kind === 'pin'
        ? bi('初始密码（使用条件不满足）', 'initial PIN: conditions of use not satisfied')
        : bi('使用条件不满足', 'conditions of use not satisfied'),
      'error',
    );
  const m = SW_MEANINGS[s];
  if (m) return out(bi(m.zh, m.en), m.severity);
  return out(bi('未知状态字', 'unknown status word'), 'error');
}

/** Decodes one trace entry; `ctx` (the selected application and EF) is updated by SELECTs. */
export function decodeEntry(e: TraceLike, ctx: DecodeContext = {}): DecodedEntry {
  const command = maskPinCommand(e.command);
  const cmd = decodeCommand(command, ctx);
  const status = decodeStatus(e.sw, cmd, e.error);
  const ok = status.severity !== 'error' && (status.sw === '9000' || status.sw.startsWith('61'));
  if (cmd.selects && ok) {
    if (cmd.selects.app) {
      ctx.app = cmd.selects.app;
      delete ctx.file;
    }
    if (cmd.selects.file) ctx.file = cmd.selects.file;
  }
  const response = (e.response ?? '').toUpperCase();
  const responseData = e.sw && response.endsWith(e.sw.toUpperCase()) ? response.slice(0, -4) : response;
  return {
    seq: e.seq,
    command,
    responseData,
    cmd,
    status,
    line: { zh: `${cmd.text.zh} → ${status.text.zh}`, en: `${cmd.text.en} → ${status.text.en}` },
  };
}

/** Decodes a trace in order, following the selected application and EF for READ RECORD. */
export function decodeTrace(entries: readonly TraceLike[]): DecodedEntry[] {
  const ctx: DecodeContext = {};
  return entries.map((e) => decodeEntry(e, ctx));
}
