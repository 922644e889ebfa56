import { useState, type ChangeEvent, type ReactNode } from 'react';
import type { ArgsOf, ResultOf } from '../../core/api/contract.ts';
import type { ApplicationIssue } from '../../core/api/contract.ts';
import { ApiCallError } from '../api-client.ts';
import { useBi, useI18n, yuan } from '../i18n.tsx';
import { useClient, useQuery } from '../live.tsx';
import './counter.css';

/**
 * 银行柜台: the bank counter's services on the cards the till shares — PIN change and unblock,
 * applications (申领) with the rules' messages next to their fields, issuance and activation
 * (领卡启用), loss report and release, replacement, closing, and the card's history.
 */

type Section = 'pin' | 'unblock' | 'apply' | 'issue' | 'loss' | 'replace' | 'close' | 'history';
type WalletEntry = ResultOf<'listCards'>[number];
type Bi = { zh: string; en: string };

/** What the last action at the counter came to, as the result box shows it. */
export interface Outcome {
  ok: boolean;
  /** The rule that refused it (R1.4, R13…), or an Api error code. */
  rule?: string | null;
  zh: string;
  en: string;
  lines?: Bi[];
  receipt?: string | null;
  tookFromTill?: boolean;
}

const SECTIONS: { id: Section; zh: string; en: string; needsCard: boolean }[] = [
  { id: 'pin', zh: '修改密码', en: 'Change PIN', needsCard: true },
  { id: 'unblock', zh: '密码解锁', en: 'Unblock PIN', needsCard: true },
  { id: 'apply', zh: '申领', en: 'Apply', needsCard: false },
  { id: 'issue', zh: '制卡与领卡启用', en: 'Issuance & activation', needsCard: true },
  { id: 'loss', zh: '挂失 / 解挂', en: 'Loss report', needsCard: true },
  { id: 'replace', zh: '补换卡', en: 'Replace', needsCard: true },
  { id: 'close', zh: '销卡销户', en: 'Close', needsCard: true },
  { id: 'history', zh: '卡片历史', en: 'History', needsCard: true },
];

const STATUS: Record<string, Bi> = {
  active: { zh: '正常', en: 'active' },
  'not-activated': { zh: '未启用', en: 'not activated' },
  'loss-reported': { zh: '已挂失', en: 'loss reported' },
  closed: { zh: '已注销', en: 'closed' },
};

const SIX_DIGITS = /^[0-9]{6}$/;

/** The counter works in Beijing time (the business date's zone). */
function beijingTime(iso: string): string {
  return new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

/** A failed call as an outcome: the Api's code stands where a rule would. */
function failureOutcome(e: unknown): Outcome {
  if (e instanceof ApiCallError)
    return { ok: false, rule: e.failure.code, zh: e.failure.zh, en: e.failure.en };
  const text = e instanceof Error ? e.message : String(e);
  return { ok: false, rule: null, zh: text, en: text };
}

/** A lifecycle step's answer: done (with the state it reached) or refused with its rule. */
function stepOutcome(
  r: { ok: true; zh: string; en: string } | { ok: false; rule: string; zh: string; en: string },
  done: Bi,
  extra: Partial<Outcome> = {},
): Outcome {
  if (!r.ok) return { ok: false, rule: r.rule, zh: r.zh, en: r.en, ...extra };
  return {
    ok: true,
    zh: `${done.zh}。当前状态：${r.zh}`,
    en: `${done.en}. Now: ${r.en}`,
    ...extra,
  };
}

function ResultBox({ outcome }: { outcome: Outcome | null }) {
  const { t } = useI18n();
  const bi = useBi();
  if (!outcome) return null;
  return (
    <div
      className={`counter-result ${outcome.ok ? 'counter-result-ok' : 'counter-result-bad'}`}
      data-testid="counter-result"
      role="status"
    >
      <div className="counter-result-head">
        <span className={outcome.ok ? 'ok' : 'bad'} aria-hidden>
          {outcome.ok ? '✔' : '✘'}
        </span>
        {outcome.rule && (
          <span className="rule-badge" data-testid="counter-result-rule">
            {outcome.rule}
          </span>
        )}
        <span data-testid="counter-result-text">{bi(outcome)}</span>
      </div>
      {outcome.tookFromTill && (
        <p className="warn counter-note" data-testid="counter-took-from-till">
          {t(
            '此卡原在收银台读卡器中，已自动取出交柜台办理。',
            "The card was in the till's reader: it was taken out for the counter.",
          )}
        </p>
      )}
      {outcome.lines && outcome.lines.length > 0 && (
        <ul className="counter-lines">
          {outcome.lines.map((l, i) => (
            <li key={i}>{bi(l)}</li>
          ))}
        </ul>
      )}
      {outcome.receipt && (
        <pre className="counter-receipt mono" data-testid="counter-receipt">
          {outcome.receipt}
        </pre>
      )}
    </div>
  );
}

/** A masked six-digit entry: digits only, never shown, never autofilled. */
function PinField(props: { testId: string; label: string; value: string; onChange(v: string): void }) {
  return (
    <>
      <label htmlFor={props.testId}>{props.label}</label>
      <input
        id={props.testId}
        data-testid={props.testId}
        type="password"
        inputMode="numeric"
        autoComplete="off"
        maxLength={6}
        pattern="[0-9]{6}"
        className="pin-input"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value.replace(/\D/g, '').slice(0, 6))}
      />
    </>
  );
}

/** Runs one counter call, keeping the button busy and turning every answer into an outcome. */
function useAction(setOutcome: (o: Outcome | null) => void) {
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<Outcome>) => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome(await fn());
    } catch (e) {
      setOutcome(failureOutcome(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, run };
}

interface SectionProps {
  card: WalletEntry;
  setOutcome(o: Outcome | null): void;
  select(cardId: string): void;
}

// ---- 修改密码 ------------------------------------------------------------------------------------

function ChangePin({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [oldPin, setOld] = useState('');
  const [newPin, setNew] = useState('');
  const [again, setAgain] = useState('');
  const submit = () =>
    run(async () => {
      // The PINs are cleared whatever happens: nothing keeps them after the call.
      const pins = { oldPin, newPin };
      setOld('');
      setNew('');
      setAgain('');
      const r = await client.call('counterChangePin', { cardId: card.id, ...pins });
      return r.ok
        ? { ok: true, zh: r.zh, en: r.en, tookFromTill: r.tookFromTill }
        : { ok: false, rule: r.rule, zh: r.zh, en: r.en, tookFromTill: r.tookFromTill };
    });
  const mismatch = newPin.length === 6 && again.length === 6 && newPin !== again;
  const ready = SIX_DIGITS.test(oldPin) && SIX_DIGITS.test(newPin) && newPin === again;
  return (
    <form
      className="counter-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (ready && !busy) void submit();
      }}
    >
      <p className="muted">
        {t(
          '持卡人在密码键盘上输入原密码和两次新密码（6 位数字）。新密码不能是初始密码 123456（R1.4）。',
          'The holder types the old PIN and the new one twice (six digits). The new PIN cannot be the initial 123456 (R1.4).',
        )}
      </p>
      <div className="grid-form">
        <PinField testId="counter-old-pin" label={t('原密码', 'Old PIN')} value={oldPin} onChange={setOld} />
        <PinField testId="counter-new-pin" label={t('新密码', 'New PIN')} value={newPin} onChange={setNew} />
        <PinField
          testId="counter-new-pin-again"
          label={t('确认新密码', 'New PIN again')}
          value={again}
          onChange={setAgain}
        />
      </div>
      {mismatch && (
        <p className="bad" data-testid="counter-pin-mismatch">
          {t('两次输入的新密码不一致', 'The two new PINs differ')}
        </p>
      )}
      <div className="row counter-actions">
        <button type="submit" className="primary" data-testid="counter-change-pin" disabled={!ready || busy}>
          {t('修改密码', 'Change PIN')}
        </button>
      </div>
    </form>
  );
}

// ---- 密码解锁 ------------------------------------------------------------------------------------

function Unblock({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '用柜台密钥（POS 机没有）重置密码错误次数；密码本身不变。',
          "Resets the PIN's try counter with the counter's key (a POS does not hold it); the PIN itself is unchanged.",
        )}
      </p>
      <p>
        {card.pin.blocked ? (
          <span className="bad">{t('此卡密码已锁定', 'This card’s PIN is blocked')}</span>
        ) : (
          <span>
            {t(
              `此卡密码未锁定，还可尝试 ${card.pin.triesLeft} 次`,
              `Not blocked: ${card.pin.triesLeft} tries left`,
            )}
          </span>
        )}
      </p>
      <div className="row counter-actions">
        <button
          type="button"
          className="primary"
          data-testid="counter-unblock"
          disabled={busy}
          onClick={() =>
            run(async () => {
              const r = await client.call('counterUnblock', { cardId: card.id });
              return {
                ...(r.ok ? { ok: true } : { ok: false, rule: r.rule }),
                zh: r.zh,
                en: r.en,
                tookFromTill: r.tookFromTill,
              };
            })
          }
        >
          {t('密码解锁', 'Unblock PIN')}
        </button>
      </div>
    </div>
  );
}

// ---- 申领 ----------------------------------------------------------------------------------------

const CHANNELS: { id: string; zh: string; en: string }[] = [
  { id: 'bank-outlet', zh: '银行网点', en: 'bank outlet' },
  { id: '省卡系统', zh: '省卡系统（银行端）', en: 'provincial card system (bank side)' },
  { id: '广东人社APP', zh: '广东人社APP', en: 'Guangdong HRSS app' },
  { id: '粤省事', zh: '粤省事小程序', en: 'Yueshengshi mini program' },
  { id: '广东政务服务网', zh: '广东政务服务网', en: 'Guangdong government services website' },
  { id: '穗好办APP', zh: '穗好办APP', en: 'Suihaoban app' },
  { id: 'bank-mini-program', zh: '银行微信小程序', en: "bank's WeChat mini program" },
  { id: 'bank-digital-space', zh: '银行数字空间', en: "bank's digital space" },
  { id: '粤智助', zh: '粤智助', en: 'Yuezhizhu kiosk' },
  { id: '智易通', zh: '智易通社保卡申请', en: 'Zhiyitong card application' },
];

const DOC_TYPES: { id: string; zh: string; en: string }[] = [
  { id: 'id', zh: '居民身份证', en: 'citizen ID card' },
  { id: 'hk-macau-permit', zh: '港澳居民来往内地通行证', en: 'Hong Kong/Macau permit' },
  { id: 'residence-permit', zh: '港澳台居民居住证', en: 'residence permit' },
  { id: 'passport', zh: '护照', en: 'passport' },
];

interface ApplyForm {
  name: string;
  sex: string;
  birthDate: string;
  nation: string;
  nationality: string;
  docType: string;
  docNumber: string;
  phone: string;
  address: string;
  birthplace: string;
  idImagesUploaded: boolean;
  livesWorksOrInsuredInGuangdong: boolean;
  employedOrInsuredInGuangdong: boolean;
  photoReceiptNumber: string;
  residentStatusFlag: '' | 'yes' | 'no';
  channel: string;
  mode: 'normal' | 'instant';
  gName: string;
  gDocType: string;
  gDocNumber: string;
  gNationality: string;
  gContact: string;
}

const EMPTY_FORM: ApplyForm = {
  name: '',
  sex: 'male',
  birthDate: '',
  nation: '01',
  nationality: 'CHN',
  docType: 'id',
  docNumber: '',
  phone: '',
  address: '',
  birthplace: '',
  idImagesUploaded: false,
  livesWorksOrInsuredInGuangdong: true,
  employedOrInsuredInGuangdong: false,
  photoReceiptNumber: '',
  residentStatusFlag: '',
  channel: 'bank-outlet',
  mode: 'normal',
  gName: '',
  gDocType: 'id',
  gDocNumber: '',
  gNationality: 'CHN',
  gContact: '',
};

/** The example applicant of fixtures/applications/adult-mainland.json (the photo is uploaded). */
const SAMPLE_FORM: ApplyForm = {
  ...EMPTY_FORM,
  name: '赵敏',
  sex: 'male',
  birthDate: '1992-03-15',
  docNumber: '440106199203154314',
  phone: '13800138000',
  address: '广州市越秀区',
  birthplace: '440106',
  idImagesUploaded: true,
};

function fileToBase64(file: File): Promise<{ base64: string; dataUrl: string }> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error('cannot read the file'));
    reader.onload = () => {
      const dataUrl = String(reader.result);
      resolve({ base64: dataUrl.slice(dataUrl.indexOf(',') + 1), dataUrl });
    };
    reader.readAsDataURL(file);
  });
}

function Apply({
  setOutcome,
  select,
  onIssued,
}: Omit<SectionProps, 'card'> & { onIssued(id: string): void }) {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [f, setF] = useState<ApplyForm>(EMPTY_FORM);
  const [problems, setProblems] = useState<ApplicationIssue[]>([]);
  const [photo, setPhoto] = useState<{ base64: string; dataUrl: string; name: string } | null>(null);
  const [photoCheck, setPhotoCheck] = useState<ResultOf<'counterCheckPhoto'> | null>(null);
  const [ssn, setSsn] = useState<ResultOf<'counterSsnFromDocument'> | null>(null);
  const [issued, setIssued] = useState<string | null>(null);

  const set =
    <K extends keyof ApplyForm>(key: K) =>
    (e: ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
      const value = (
        e.target.type === 'checkbox' ? (e.target as HTMLInputElement).checked : e.target.value
      ) as ApplyForm[K];
      setF((old) => ({ ...old, [key]: value }));
    };

  const FIELDS_SHOWN = new Set([
    'name',
    'sex',
    'birthDate',
    'nation',
    'nationality',
    'docType',
    'docNumber',
    'ssn',
    'phone',
    'address',
    'birthplace',
    'idImagesUploaded',
    'photo',
    'photoReceiptNumber',
    'residentStatusFlag',
    'livesWorksOrInsuredInGuangdong',
    'employedOrInsuredInGuangdong',
    'channel',
    'mode',
    'guardian.name',
    'guardian.docType',
    'guardian.docNumber',
    'guardian.nationality',
    'guardian.contact',
  ]);

  const problemsOf = (field: string) => problems.filter((p) => p.field === field);
  const problemList = (field: string) => {
    const list = problemsOf(field);
    if (list.length === 0) return null;
    return (
      <div className="field-problems" data-testid={`counter-problem-${field}`}>
        {list.map((p, i) => (
          <div key={i} className="field-problem">
            <span className="rule-badge">{p.rule}</span> {bi(p)}
          </div>
        ))}
      </div>
    );
  };
  /** One row of the form: the label, the input, and the rules' messages about this field. */
  // Plain functions, not components: a component made here would be a new type each render
  // and React would remount the inputs (losing focus) on every keystroke.
  const row = (field: string, label: string, children: ReactNode) => (
    <>
      <label className={problemsOf(field).length ? 'bad' : undefined}>{label}</label>
      <div className="field">
        {children}
        {problemList(field)}
      </div>
    </>
  );

  const onPhoto = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    setPhotoCheck(null);
    if (!file) {
      setPhoto(null);
      return;
    }
    try {
      const read = await fileToBase64(file);
      setPhoto({ ...read, name: file.name });
      setPhotoCheck(await client.call('counterCheckPhoto', { photoJpegBase64: read.base64 }));
    } catch (err) {
      setOutcome(failureOutcome(err));
    }
  };

  const makeSsn = async () => {
    try {
      setSsn(
        await client.call('counterSsnFromDocument', {
          country: f.nationality || 'CHN',
          docType: f.docType as 'id',
          doc: f.docNumber || ' ',
        }),
      );
    } catch (err) {
      setOutcome(failureOutcome(err));
    }
  };

  const submit = () =>
    run(async () => {
      const r = await client.call('counterApply', {
        name: f.name,
        sex: f.sex,
        birthDate: f.birthDate,
        nation: f.nation,
        nationality: f.nationality.trim().toUpperCase(),
        docType: f.docType,
        docNumber: f.docNumber,
        phone: f.phone,
        address: f.address,
        birthplace: f.birthplace,
        idImagesUploaded: f.idImagesUploaded,
        livesWorksOrInsuredInGuangdong: f.livesWorksOrInsuredInGuangdong,
        ...(f.nationality.trim().toUpperCase() !== 'CHN'
          ? { employedOrInsuredInGuangdong: f.employedOrInsuredInGuangdong }
          : {}),
        photoReceiptNumber: f.photoReceiptNumber,
        ...(f.residentStatusFlag ? { residentStatusFlag: f.residentStatusFlag === 'yes' } : {}),
        channel: f.channel,
        mode: f.mode,
        ...(photo ? { photoJpegBase64: photo.base64 } : {}),
        guardian: {
          name: f.gName,
          docType: f.gDocType,
          docNumber: f.gDocNumber,
          nationality: f.gNationality.trim().toUpperCase(),
          contact: f.gContact,
        },
      });
      const warnings = [...r.warnings, ...r.notes].map((w) => ({
        zh: `${w.rule}  ${w.zh}`,
        en: `${w.rule}  ${w.en}`,
      }));
      if (!r.ok) {
        setProblems(r.problems);
        setIssued(null);
        const elsewhere = r.problems.filter((p) => !FIELDS_SHOWN.has(p.field));
        return {
          ok: false,
          rule: r.rule,
          zh: r.zh,
          en: r.en,
          lines: [
            ...elsewhere.map((p) => ({ zh: `${p.rule}  ${p.zh}`, en: `${p.rule}  ${p.en}` })),
            ...warnings,
          ],
        };
      }
      setProblems([]);
      setIssued(r.walletId);
      onIssued(r.walletId);
      return {
        ok: true,
        zh: `受理成功：卡号 ${r.cardId}，申请编号 ${r.applicationId}（${r.accountType}）。当前状态：${r.progress.zh}`,
        en: `Accepted: card ${r.cardId}, application ${r.applicationId} (${r.accountType}). Now: ${r.progress.en}`,
        lines: warnings,
        receipt: r.receipt,
      };
    });

  return (
    <form
      className="counter-form counter-apply"
      onSubmit={(e) => {
        e.preventDefault();
        if (!busy) void submit();
      }}
    >
      <div className="row counter-apply-head">
        <p className="muted">
          {t(
            '按 R3、R5–R12 检查：每条问题显示在对应栏目旁；全部通过才受理并出具申领回执。',
            'Checked against R3 and R5–R12: each problem shows next to its field; only a clean form is accepted and gets a receipt.',
          )}
        </p>
        <button type="button" data-testid="counter-apply-sample" onClick={() => setF(SAMPLE_FORM)}>
          {t('填入示例', 'Fill in the example')}
        </button>
        <button
          type="button"
          onClick={() => {
            setF(EMPTY_FORM);
            setProblems([]);
            setPhoto(null);
            setPhotoCheck(null);
            setSsn(null);
          }}
        >
          {t('清空', 'Clear')}
        </button>
      </div>
      <div className="apply-columns">
        <fieldset>
          <legend>{t('申领人', 'Applicant')}</legend>
          <div className="grid-form">
            {row(
              'name',
              t('姓名', 'Name'),
              <>
                <input data-testid="apply-name" value={f.name} onChange={set('name')} />
              </>,
            )}
            {row(
              'sex',
              t('性别', 'Sex'),
              <>
                <select data-testid="apply-sex" value={f.sex} onChange={set('sex')}>
                  <option value="male">{t('男', 'male')}</option>
                  <option value="female">{t('女', 'female')}</option>
                </select>
              </>,
            )}
            {row(
              'birthDate',
              t('出生日期', 'Birth date'),
              <>
                <input
                  data-testid="apply-birth-date"
                  placeholder="YYYY-MM-DD"
                  value={f.birthDate}
                  onChange={set('birthDate')}
                />
              </>,
            )}
            {row(
              'nation',
              t('民族代码', 'Nation code'),
              <>
                <input
                  data-testid="apply-nation"
                  className="short"
                  value={f.nation}
                  onChange={set('nation')}
                />
              </>,
            )}
            {row(
              'nationality',
              t('国家/地区', 'Country/region'),
              <>
                <input
                  data-testid="apply-nationality"
                  className="short"
                  value={f.nationality}
                  onChange={set('nationality')}
                />
              </>,
            )}
            {row(
              'docType',
              t('证件类型', 'Document type'),
              <>
                <select data-testid="apply-doc-type" value={f.docType} onChange={set('docType')}>
                  {DOC_TYPES.map((d) => (
                    <option key={d.id} value={d.id}>
                      {bi(d)}
                    </option>
                  ))}
                </select>
              </>,
            )}
            {row(
              'docNumber',
              t('证件号码', 'Document number'),
              <>
                <input data-testid="apply-doc-number" value={f.docNumber} onChange={set('docNumber')} />
                <div>
                  <button
                    type="button"
                    className="link ssn-button"
                    data-testid="apply-make-ssn"
                    onClick={() => void makeSsn()}
                  >
                    {t('由证件生成社会保障号码', 'Make the SSN from the document')}
                  </button>
                </div>
                {ssn && (
                  <div className={ssn.ok ? 'ok' : 'field-problem'} data-testid="apply-ssn">
                    {ssn.ok ? (
                      <>
                        {t('社会保障号码', 'SSN')} <span className="mono">{ssn.ssn}</span>
                        {ssn.note && <div className="warn">{bi(ssn.note)}</div>}
                      </>
                    ) : (
                      <>
                        <span className="rule-badge">{ssn.rule}</span> {bi(ssn)}
                      </>
                    )}
                  </div>
                )}
                {problemList('ssn')}
              </>,
            )}
            {row(
              'phone',
              t('手机号码', 'Phone'),
              <>
                <input data-testid="apply-phone" value={f.phone} onChange={set('phone')} />
              </>,
            )}
            {row(
              'address',
              t('地址', 'Address'),
              <>
                <input value={f.address} onChange={set('address')} />
              </>,
            )}
            {row(
              'birthplace',
              t('出生地（区划代码）', 'Birthplace (area code)'),
              <>
                <input className="short" value={f.birthplace} onChange={set('birthplace')} />
              </>,
            )}
            {row(
              'idImagesUploaded',
              t('证件影像', 'ID images'),
              <>
                <label className="check">
                  <input
                    type="checkbox"
                    data-testid="apply-id-images"
                    checked={f.idImagesUploaded}
                    onChange={set('idImagesUploaded')}
                  />
                  {t('已上传身份证正反面', 'Front and back uploaded')}
                </label>
              </>,
            )}
            {row(
              'photo',
              t('相片', 'Photo'),
              <>
                <div className="photo-field">
                  {photo && (
                    <img
                      src={photo.dataUrl}
                      alt={t('申领人相片', "applicant's photo")}
                      className="photo-preview"
                    />
                  )}
                  <div>
                    {/* The browser's own file button speaks the system's language: a label of ours instead. */}
                    <label className="file-button">
                      {photo ? t('更换相片…', 'Another photo…') : t('选择相片…', 'Choose a photo…')}
                      <input
                        type="file"
                        accept="image/jpeg,.jpg,.jpeg"
                        data-testid="apply-photo"
                        onChange={(e) => void onPhoto(e)}
                      />
                    </label>
                    <div className="muted small file-name">
                      {photo ? photo.name : t('未选择文件', 'no file chosen')}
                    </div>
                  </div>
                </div>
                <div className="muted small">
                  {t(
                    'JPG，358×441 像素，彩色，白底（R8）',
                    'JPG, 358×441 pixels, colour, white background (R8)',
                  )}
                </div>
                {photoCheck && (
                  <div data-testid="apply-photo-check">
                    {photoCheck.ok ? (
                      <span className="ok">
                        ✔ {t('相片合格', 'Photo passes')} {photoCheck.width}×{photoCheck.height}
                      </span>
                    ) : (
                      photoCheck.problems.map((p, i) => (
                        <div key={i} className="field-problem">
                          <span className="rule-badge">{p.rule}</span> {bi(p)}
                        </div>
                      ))
                    )}
                  </div>
                )}
              </>,
            )}
          </div>
        </fieldset>
        <div className="apply-side">
          <fieldset>
            <legend>{t('受理', 'Taking the application')}</legend>
            <div className="grid-form">
              {row(
                'channel',
                t('申请渠道', 'Channel'),
                <>
                  <select data-testid="apply-channel" value={f.channel} onChange={set('channel')}>
                    {CHANNELS.map((c) => (
                      <option key={c.id} value={c.id}>
                        {bi(c)}
                      </option>
                    ))}
                  </select>
                </>,
              )}
              {row(
                'mode',
                t('制卡方式', 'Issuance'),
                <>
                  <select data-testid="apply-mode" value={f.mode} onChange={set('mode')}>
                    <option value="normal">{t('普通制卡', 'normal')}</option>
                    <option value="instant">{t('即时制卡', 'instant')}</option>
                  </select>
                </>,
              )}
              {row(
                'livesWorksOrInsuredInGuangdong',
                t('在粤居住/工作/参保', 'Lives/works/insured in Guangdong'),
                <>
                  <input
                    type="checkbox"
                    checked={f.livesWorksOrInsuredInGuangdong}
                    onChange={set('livesWorksOrInsuredInGuangdong')}
                  />
                </>,
              )}
              {row(
                'existingCards',
                t('一人一卡', 'One person, one card'),
                <>
                  <span className="muted small">
                    {t('提交时按社保号查询已有卡片', 'checked against the person’s cards on submit')}
                  </span>
                </>,
              )}
            </div>
          </fieldset>
          <fieldset>
            <legend>{t('非内地居民（R12）', 'Non-mainland applicants (R12)')}</legend>
            <div className="grid-form">
              {row(
                'photoReceiptNumber',
                t('相片回执号', 'Photo receipt no.'),
                <>
                  <input value={f.photoReceiptNumber} onChange={set('photoReceiptNumber')} />
                </>,
              )}
              {row(
                'residentStatusFlag',
                t('居民身份标识', 'Resident status flag'),
                <>
                  <select value={f.residentStatusFlag} onChange={set('residentStatusFlag')}>
                    <option value="">{t('未选择', 'not chosen')}</option>
                    <option value="yes">{t('是', 'yes')}</option>
                    <option value="no">{t('否', 'no')}</option>
                  </select>
                </>,
              )}
              {row(
                'employedOrInsuredInGuangdong',
                t('外籍：在粤就业/参保', 'Foreigner: employed/insured in Guangdong'),
                <>
                  <input
                    type="checkbox"
                    checked={f.employedOrInsuredInGuangdong}
                    onChange={set('employedOrInsuredInGuangdong')}
                  />
                </>,
              )}
            </div>
          </fieldset>
          <fieldset>
            <legend>{t('监护人（未满 16 周岁必填五要素）', 'Guardian (all five required under 16)')}</legend>
            <div className="grid-form">
              {row(
                'guardian.name',
                t('姓名', 'Name'),
                <>
                  <input value={f.gName} onChange={set('gName')} />
                </>,
              )}
              {row(
                'guardian.docType',
                t('证件类型', 'Document type'),
                <>
                  <select value={f.gDocType} onChange={set('gDocType')}>
                    {DOC_TYPES.map((d) => (
                      <option key={d.id} value={d.id}>
                        {bi(d)}
                      </option>
                    ))}
                  </select>
                </>,
              )}
              {row(
                'guardian.docNumber',
                t('证件号码', 'Document number'),
                <>
                  <input value={f.gDocNumber} onChange={set('gDocNumber')} />
                </>,
              )}
              {row(
                'guardian.nationality',
                t('国籍', 'Nationality'),
                <>
                  <input className="short" value={f.gNationality} onChange={set('gNationality')} />
                </>,
              )}
              {row(
                'guardian.contact',
                t('联系方式', 'Contact'),
                <>
                  <input value={f.gContact} onChange={set('gContact')} />
                </>,
              )}
            </div>
          </fieldset>
        </div>
      </div>
      <div className="row counter-actions">
        <button type="submit" className="primary" data-testid="counter-apply" disabled={busy}>
          {t('提交申领', 'Submit the application')}
        </button>
        {issued && (
          <button type="button" data-testid="counter-go-issue" onClick={() => select(issued)}>
            {t('查看制卡进度 →', 'Follow the issuance →')}
          </button>
        )}
      </div>
    </form>
  );
}

// ---- 制卡进度、领卡启用 --------------------------------------------------------------------------

type AdvanceEvent = ArgsOf<'counterAdvance'>['event'];

const EVENTS: Record<AdvanceEvent, Bi> = {
  PRODUCTION_FAILED: { zh: '制卡失败（厂商）', en: 'production failed (vendor)' },
  RESUBMIT: { zh: '重新提交制卡', en: 're-submit' },
  CITY_BRANCH_RECEIVED: { zh: '市分行接收卡', en: 'city branch received' },
  OUTLET_RECEIVED: { zh: '网点接收卡', en: 'outlet received' },
  PRODUCTION_DONE: { zh: '制卡完成', en: 'production done' },
  PRINTED_BUT_PENDING: { zh: '卡面已打印，系统仍显示制卡中', en: 'printed, system still says in production' },
  MAKE_UP_REGISTRATION: { zh: '制卡补登', en: 'make-up registration' },
  VERIFY_NORMAL_STATE: { zh: '检查卡片状态', en: 'check the card state' },
};

/** What the clerk does next in each state (R10.1, R10.2). */
const NEXT: Record<string, AdvanceEvent[]> = {
  inProduction: ['CITY_BRANCH_RECEIVED', 'PRODUCTION_FAILED'],
  productionFailed: ['RESUBMIT'],
  atCityBranch: ['OUTLET_RECEIVED'],
  printedButPending: ['MAKE_UP_REGISTRATION'],
  printed: ['VERIFY_NORMAL_STATE'],
};

function Issuance({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [progress, error] = useQuery((c) => c.call('counterProgress', { cardId: card.id }), [card.id]);
  const [reason, setReason] = useState('');
  const [other, setOther] = useState<AdvanceEvent>('PRODUCTION_DONE');
  const [pin, setPin] = useState('');
  const [pinAgain, setPinAgain] = useState('');
  const [pw, setPw] = useState('');
  const [pwAgain, setPwAgain] = useState('');
  const [otherBank, setOtherBank] = useState(false);

  const advance = (event: AdvanceEvent) =>
    run(async () => {
      const r = await client.call('counterAdvance', {
        cardId: card.id,
        event,
        ...(event === 'PRODUCTION_FAILED' && reason.trim() ? { reason: reason.trim() } : {}),
      });
      return stepOutcome(r, EVENTS[event]);
    });
  const printInstant = (pending: boolean) =>
    run(async () =>
      stepOutcome(
        await client.call('counterPrintInstant', { cardId: card.id, pending }),
        pending ? EVENTS.PRINTED_BUT_PENDING : { zh: '即时制卡打印完成', en: 'instant card printed' },
      ),
    );
  const activate = () =>
    run(async () => {
      const secrets = { newPin: pin, financialPassword: pw };
      setPin('');
      setPinAgain('');
      setPw('');
      setPwAgain('');
      const r = await client.call('counterActivate', {
        cardId: card.id,
        ...secrets,
        cardBank: otherBank ? 'other' : 'this',
      });
      return stepOutcome(
        r,
        { zh: '领卡启用完成', en: 'Collected and activated' },
        {
          tookFromTill: r.tookFromTill,
          lines: r.ok && r.note ? [r.note] : [],
        },
      );
    });

  if (error) return <p className="bad">{bi(failureOutcome(error))}</p>;
  if (!progress) return <p className="muted">{t('正在查询…', 'Loading…')}</p>;
  if (!progress.ok)
    return (
      <p className="bad" data-testid="counter-progress">
        <span className="rule-badge">{progress.rule}</span> {bi(progress)}
      </p>
    );
  const next = NEXT[progress.state] ?? [];
  const activationReady = SIX_DIGITS.test(pin) && pin === pinAgain && SIX_DIGITS.test(pw) && pw === pwAgain;
  return (
    <div className="counter-form">
      <div className="progress-box" data-testid="counter-progress">
        <div>
          {t('当前状态', 'Now')}: <strong data-testid="counter-progress-state">{bi(progress)}</strong>{' '}
          <span className="muted mono">{progress.state}</span>
        </div>
        {progress.productionAttempts > 0 && (
          <div className="muted small">
            {t(
              `制卡次数：${progress.productionAttempts}`,
              `Production attempts: ${progress.productionAttempts}`,
            )}
          </div>
        )}
        {progress.productionFailure && (
          <div className="bad small">
            {t('上次制卡失败原因：', 'Last production failure: ')}
            {progress.productionFailure}
          </div>
        )}
        {progress.lastRefusal && (
          <div className="warn small">
            {t('上次被拒：', 'Last refused: ')}
            <span className="rule-badge">{progress.lastRefusal.rule}</span> {bi(progress.lastRefusal)}
          </div>
        )}
      </div>

      {next.length > 0 && (
        <div className="row counter-actions">
          {next.map((e) => (
            <button
              key={e}
              type="button"
              className="primary"
              disabled={busy}
              data-testid={`counter-advance-${e}`}
              onClick={() => void advance(e)}
            >
              {bi(EVENTS[e])}
            </button>
          ))}
          {next.includes('PRODUCTION_FAILED') && (
            <input
              placeholder={t('失败原因（厂商反馈）', 'reason (from the vendor)')}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
            />
          )}
        </div>
      )}

      {progress.state === 'instantPrinting' && (
        <div className="row counter-actions">
          <button
            type="button"
            className="primary"
            disabled={busy}
            data-testid="counter-print-instant"
            onClick={() => void printInstant(false)}
          >
            {t('打印完成，省卡系统已登记', 'Printed and registered')}
          </button>
          <button
            type="button"
            disabled={busy}
            data-testid="counter-print-pending"
            onClick={() => void printInstant(true)}
          >
            {t('卡面已打印，系统仍显示制卡中', 'Printed, system still says in production')}
          </button>
        </div>
      )}

      {progress.state === 'atOutlet' && (
        <form
          className="activate-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (activationReady && !busy) void activate();
          }}
        >
          <h3>{t('领卡启用（R10.1 第 7 步）', 'Collection and activation (R10.1 step 7)')}</h3>
          <p className="muted small">
            {t(
              '持卡人设置社保密码（不能是 123456）和金融密码，各 6 位数字，各输两次。',
              'The holder sets the card PIN (not 123456) and the financial password, six digits each, typed twice.',
            )}
          </p>
          <div className="grid-form">
            <PinField
              testId="counter-activate-pin"
              label={t('社保密码', 'Card PIN')}
              value={pin}
              onChange={setPin}
            />
            <PinField
              testId="counter-activate-pin-again"
              label={t('确认社保密码', 'Card PIN again')}
              value={pinAgain}
              onChange={setPinAgain}
            />
            <PinField
              testId="counter-activate-password"
              label={t('金融密码', 'Financial password')}
              value={pw}
              onChange={setPw}
            />
            <PinField
              testId="counter-activate-password-again"
              label={t('确认金融密码', 'Financial password again')}
              value={pwAgain}
              onChange={setPwAgain}
            />
            <span />
            <label className="check">
              <input type="checkbox" checked={otherBank} onChange={(e) => setOtherBank(e.target.checked)} />
              {t('他行社保卡（R13）', "another bank's card (R13)")}
            </label>
          </div>
          {((pin.length === 6 && pinAgain.length === 6 && pin !== pinAgain) ||
            (pw.length === 6 && pwAgain.length === 6 && pw !== pwAgain)) && (
            <p className="bad">{t('两次输入不一致', 'The two entries differ')}</p>
          )}
          <div className="row counter-actions">
            <button
              type="submit"
              className="primary"
              data-testid="counter-activate"
              disabled={!activationReady || busy}
            >
              {t('领卡启用', 'Activate')}
            </button>
          </div>
        </form>
      )}

      {next.length === 0 && !['instantPrinting', 'atOutlet'].includes(progress.state) && (
        <p className="muted">
          {t('此卡没有待办的制卡步骤。', 'Nothing left to do in issuance for this card.')}
        </p>
      )}

      <details className="counter-other">
        <summary>
          {t('其他制卡事件（演示规则拒绝）', 'Other issuance events (to see the rules refuse)')}
        </summary>
        <div className="row">
          <select
            value={other}
            onChange={(e) => setOther(e.target.value as AdvanceEvent)}
            data-testid="counter-other-event"
          >
            {(Object.keys(EVENTS) as AdvanceEvent[]).map((e) => (
              <option key={e} value={e}>
                {bi(EVENTS[e])}
              </option>
            ))}
          </select>
          <button
            type="button"
            disabled={busy}
            data-testid="counter-other-send"
            onClick={() => void advance(other)}
          >
            {t('发送', 'Send')}
          </button>
        </div>
      </details>
    </div>
  );
}

// ---- 挂失 / 解挂 ---------------------------------------------------------------------------------

function Loss({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [crossRegion, setCrossRegion] = useState(false);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '挂失后此卡在所有 POS 机上被拒；挂失、解挂均可在异地网点办理（R13）。',
          'A card reported lost is refused at every POS; report and release can be done at another branch too (R13).',
        )}
      </p>
      <label className="check">
        <input
          type="checkbox"
          data-testid="counter-cross-region"
          checked={crossRegion}
          onChange={(e) => setCrossRegion(e.target.checked)}
        />
        {t('异地办理', 'at another branch')}
      </label>
      <div className="row counter-actions">
        <button
          type="button"
          className="danger"
          data-testid="counter-report-loss"
          disabled={busy}
          onClick={() =>
            run(async () =>
              stepOutcome(await client.call('counterReportLoss', { cardId: card.id, crossRegion }), {
                zh: '挂失成功',
                en: 'Loss reported',
              }),
            )
          }
        >
          {t('挂失', 'Report loss')}
        </button>
        <button
          type="button"
          className="primary"
          data-testid="counter-release-loss"
          disabled={busy}
          onClick={() =>
            run(async () =>
              stepOutcome(await client.call('counterReleaseLoss', { cardId: card.id, crossRegion }), {
                zh: '解挂成功',
                en: 'Loss report released',
              }),
            )
          }
        >
          {t('解挂', 'Release')}
        </button>
      </div>
    </div>
  );
}

// ---- 补换卡 --------------------------------------------------------------------------------------

const REASONS: { id: 'lost' | 'damaged' | 'expired' | 'photo'; zh: string; en: string }[] = [
  { id: 'lost', zh: '遗失补领', en: 'lost' },
  { id: 'damaged', zh: '损坏换领', en: 'damaged' },
  { id: 'expired', zh: '逾有效期换领', en: 'expired' },
  { id: 'photo', zh: '相片变更换领', en: 'photo change' },
];

function Replace({ card, setOutcome, select }: SectionProps) {
  const { t } = useI18n();
  const bi = useBi();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [reason, setReason] = useState<(typeof REASONS)[number]['id']>('lost');
  const [mode, setMode] = useState<'instant' | 'normal'>('instant');
  const [crossRegion, setCrossRegion] = useState(false);
  const [newCard, setNewCard] = useState<string | null>(null);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '新卡为三代卡（R2.1），初始密码 123456，须领卡启用；原卡余额转入新卡，原卡注销。遗失须先挂失；异地仅可挂失补卡（R13）。',
          'The new card is gen 3 (R2.1) with the initial PIN and must be activated; the balances move over and the old card is closed. A lost card must be reported first; another branch replaces only after a loss report (R13).',
        )}
      </p>
      <div className="grid-form">
        <label>{t('补换原因', 'Reason')}</label>
        <select
          data-testid="counter-replace-reason"
          value={reason}
          onChange={(e) => setReason(e.target.value as typeof reason)}
        >
          {REASONS.map((r) => (
            <option key={r.id} value={r.id}>
              {bi(r)}
            </option>
          ))}
        </select>
        <label>{t('制卡方式', 'Issuance')}</label>
        <select value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
          <option value="instant">{t('即时制卡', 'instant')}</option>
          <option value="normal">{t('普通制卡', 'normal')}</option>
        </select>
        <span />
        <label className="check">
          <input type="checkbox" checked={crossRegion} onChange={(e) => setCrossRegion(e.target.checked)} />
          {t('异地办理', 'at another branch')}
        </label>
      </div>
      <div className="row counter-actions">
        <button
          type="button"
          className="primary"
          data-testid="counter-replace"
          disabled={busy}
          onClick={() =>
            run(async () => {
              setNewCard(null);
              const r = await client.call('counterReplace', { cardId: card.id, reason, mode, crossRegion });
              if (!r.ok) return { ok: false, rule: r.rule, zh: r.zh, en: r.en };
              setNewCard(r.newCardId);
              return {
                ok: true,
                zh: `补换卡成功：新卡 ${r.newCardId}（三代卡，初始密码须在领卡时修改）`,
                en: `Replaced: new card ${r.newCardId} (gen 3; change the initial PIN when collecting it)`,
                lines: [
                  {
                    zh: `转入新卡：备用金 ${yuan(r.moved.reserve)} 元，95000 ${yuan(r.moved.medicalCurrent)} 元，95001 ${yuan(r.moved.medicalPrior)} 元`,
                    en: `Moved: reserve ${yuan(r.moved.reserve)}, 95000 ${yuan(r.moved.medicalCurrent)}, 95001 ${yuan(r.moved.medicalPrior)} yuan`,
                  },
                ],
                receipt: r.receipt,
                tookFromTill: r.tookFromTill,
              };
            })
          }
        >
          {t('补换卡', 'Replace')}
        </button>
        {newCard && (
          <button type="button" data-testid="counter-select-new-card" onClick={() => select(newCard)}>
            {t('办理新卡 →', 'Go to the new card →')}
          </button>
        )}
      </div>
    </div>
  );
}

// ---- 销卡销户 ------------------------------------------------------------------------------------

function Close({ card, setOutcome }: SectionProps) {
  const { t } = useI18n();
  const client = useClient();
  const { busy, run } = useAction(setOutcome);
  const [medicalClosed, setMedicalClosed] = useState(false);
  const [crossRegion, setCrossRegion] = useState(false);
  return (
    <div className="counter-form">
      <p className="muted">
        {t(
          '有医保账户的卡须先到医保经办机构办理医保账户销户，再销金融账户；只能在开卡分行办理（R14、R13）。',
          'A card with a medical account needs that account closed at the medical insurance office first; only at the issuing branch (R14, R13).',
        )}
      </p>
      <p>
        {t('余额', 'Balances')}: {t('备用金', 'reserve')} {yuan(card.balances.reserve)} · 95000{' '}
        {yuan(card.balances.medicalCurrent)} · 95001 {yuan(card.balances.medicalPrior)}
      </p>
      <label className="check">
        <input
          type="checkbox"
          data-testid="counter-medical-closed"
          checked={medicalClosed}
          onChange={(e) => setMedicalClosed(e.target.checked)}
        />
        {t('已在医保经办机构办理医保账户销户', 'Medical account closing registered at the insurance office')}
      </label>
      <label className="check">
        <input type="checkbox" checked={crossRegion} onChange={(e) => setCrossRegion(e.target.checked)} />
        {t('异地办理', 'at another branch')}
      </label>
      <div className="row counter-actions">
        <button
          type="button"
          className="danger"
          data-testid="counter-close"
          disabled={busy}
          onClick={() =>
            run(async () => {
              const r = await client.call('counterClose', {
                cardId: card.id,
                medicalAccountClosedAtInsuranceOffice: medicalClosed,
                crossRegion,
              });
              return stepOutcome(
                r,
                { zh: '销卡销户完成', en: 'Closed' },
                {
                  tookFromTill: r.tookFromTill,
                  lines: r.ok ? r.steps : [],
                },
              );
            })
          }
        >
          {t('销卡销户', 'Close the card')}
        </button>
      </div>
    </div>
  );
}

// ---- 卡片历史 ------------------------------------------------------------------------------------

function History({ card }: SectionProps) {
  const { t } = useI18n();
  const bi = useBi();
  const [h, error] = useQuery((c) => c.call('counterHistory', { cardId: card.id }), [card.id]);
  if (error) return <p className="bad">{bi(failureOutcome(error))}</p>;
  if (!h) return <p className="muted">{t('正在查询…', 'Loading…')}</p>;
  if (!h.ok)
    return (
      <p className="bad" data-testid="counter-history">
        <span className="rule-badge">{h.rule}</span> {bi(h)}
      </p>
    );
  return (
    <table data-testid="counter-history" className="counter-history">
      <thead>
        <tr>
          <th>{t('时间', 'Time')}</th>
          <th>{t('业务', 'Step')}</th>
          <th>{t('状态', 'State')}</th>
          <th>{t('结果', 'Result')}</th>
          <th>{t('网点', 'Branch')}</th>
        </tr>
      </thead>
      <tbody>
        {h.entries.map((e, i) => (
          <tr key={i} className={e.refused ? 'refused' : undefined}>
            <td className="mono small nowrap">{beijingTime(e.at)}</td>
            <td>{t(e.eventZh, e.eventEn)}</td>
            <td>{bi(e)}</td>
            <td>
              {e.refused ? (
                <span className="bad">
                  <span className="rule-badge">{e.refused.rule}</span> {bi(e.refused)}
                </span>
              ) : (
                <span className="ok">✔</span>
              )}
              {e.note && <div className="muted small">{bi(e.note)}</div>}
            </td>
            <td className="small nowrap">{e.branch}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// ---- the panel -----------------------------------------------------------------------------------

function CardLine({ card }: { card: WalletEntry }) {
  const { t } = useI18n();
  const bi = useBi();
  return (
    <div className="counter-card-line" data-testid="counter-card-info">
      <span>
        {card.holderName} · <span className="mono">{card.cardNumber}</span> ·{' '}
        {t(`${card.generation} 代卡`, `gen ${card.generation}`)} ·{' '}
        {bi(STATUS[card.status] ?? { zh: card.status, en: card.status })}
      </span>
      <span className={card.pin.blocked ? 'bad' : card.pin.initial ? 'warn' : 'muted'}>
        {card.pin.blocked
          ? t('密码已锁定', 'PIN blocked')
          : card.pin.initial
            ? t('初始密码 123456（POS 机拒绝）', 'initial PIN 123456 (refused at a POS)')
            : t(`密码可尝试 ${card.pin.triesLeft} 次`, `${card.pin.triesLeft} PIN tries left`)}
      </span>
      {card.inReader && (
        <span className="warn" data-testid="counter-in-reader">
          {t('此卡在收银台读卡器中：办理时将自动取出', "In the till's reader: the counter takes it out")}
        </span>
      )}
    </div>
  );
}

export function CounterPanel() {
  const { t } = useI18n();
  const [section, setSection] = useState<Section>('pin');
  const [chosen, setChosen] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [cards] = useQuery((c) => c.call('listCards', {}));
  const cardId = chosen ?? cards?.[0]?.id ?? null;
  const card = cards?.find((c) => c.id === cardId) ?? null;
  const meta = SECTIONS.find((s) => s.id === section)!;

  const go = (next: Section) => {
    setSection(next);
    setOutcome(null);
  };
  const select = (id: string) => {
    setChosen(id);
    go('issue');
  };
  const props = { setOutcome, select };

  return (
    <section className="panel counter-panel" data-testid="panel-counter">
      <h2>{t('银行柜台', 'Bank counter')}</h2>
      <div className="counter-layout">
        <nav className="counter-menu" aria-label={t('柜台业务', 'Counter services')}>
          {SECTIONS.map((s) => (
            <button
              key={s.id}
              type="button"
              className={s.id === section ? 'active' : undefined}
              aria-current={s.id === section ? 'page' : undefined}
              data-testid={`counter-tab-${s.id}`}
              onClick={() => go(s.id)}
            >
              {t(s.zh, s.en)}
            </button>
          ))}
        </nav>
        <div className="counter-body">
          <h3 className="counter-title">{t(meta.zh, meta.en)}</h3>
          {meta.needsCard && (
            <div className="counter-card">
              <label className="row">
                <span>{t('卡片', 'Card')}</span>
                <select
                  data-testid="counter-card-select"
                  value={cardId ?? ''}
                  onChange={(e) => {
                    setChosen(e.target.value);
                    setOutcome(null);
                  }}
                >
                  {(cards ?? []).map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.holderName} · {c.id}
                      {c.source === 'issued' ? t('（本柜台发卡）', ' (issued here)') : ''}
                    </option>
                  ))}
                </select>
              </label>
              {card && <CardLine card={card} />}
            </div>
          )}
          {section === 'apply' && <Apply {...props} onIssued={(id) => setChosen(id)} />}
          {meta.needsCard && card && (
            <>
              {section === 'pin' && <ChangePin key={card.id} card={card} {...props} />}
              {section === 'unblock' && <Unblock card={card} {...props} />}
              {section === 'issue' && <Issuance key={card.id} card={card} {...props} />}
              {section === 'loss' && <Loss card={card} {...props} />}
              {section === 'replace' && <Replace key={card.id} card={card} {...props} />}
              {section === 'close' && <Close key={card.id} card={card} {...props} />}
              {section === 'history' && <History card={card} {...props} />}
            </>
          )}
          <ResultBox outcome={outcome} />
        </div>
      </div>
    </section>
  );
}
