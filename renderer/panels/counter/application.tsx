import { useState, type ChangeEvent, type ReactNode } from 'react';
import type { ResultOf } from '../../../core/api/contract.ts';
import { useBi, useI18n } from '../../i18n.tsx';
import { useClient } from '../../live.tsx';
import {
  CHANNELS,
  DOC_TYPES,
  EMPTY_FORM,
  FIELDS_SHOWN,
  SAMPLE_FORM,
  applicationArgs,
  fileToBase64,
  type ApplicationIssue,
  type ApplyForm,
} from './application-form.ts';
import { failureOutcome, useAction } from './outcome.ts';
import { PHOTO_MAX_BYTES, megabytes, photoTooLarge } from '../../upload-limits.ts';
import type { SectionProps } from './section-props.ts';

/**
 * 申领: the application form, with each rule's message next to the field it is about; only a
 * clean form is accepted and gets a receipt (R3, R5–R12).
 */

export function Apply({
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
  /** A file refused before it was read: over the upload limit. */
  const [tooLarge, setTooLarge] = useState<{ zh: string; en: string; name: string } | null>(null);
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
    setTooLarge(null);
    if (!file) {
      setPhoto(null);
      return;
    }
    if (file.size > PHOTO_MAX_BYTES) {
      // Refused before it is read or sent: the card takes a 358×441 ID photo, never this much.
      const why = photoTooLarge(file.size);
      setPhoto(null);
      setTooLarge({ ...why, name: file.name });
      setOutcome({ ok: false, rule: 'R8', ...why });
      e.target.value = '';
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
      const r = await client.call('counterApply', applicationArgs(f, photo));
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
            setTooLarge(null);
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
                      {photo ? photo.name : (tooLarge?.name ?? t('未选择文件', 'no file chosen'))}
                    </div>
                  </div>
                </div>
                <div className="muted small">
                  {t(
                    `JPG，358×441 像素，彩色，白底（R8）；文件不超过 ${megabytes(PHOTO_MAX_BYTES)}`,
                    `JPG, 358×441 pixels, colour, white background (R8); file at most ${megabytes(PHOTO_MAX_BYTES)}`,
                  )}
                </div>
                {tooLarge && (
                  <div className="field-problem" data-testid="apply-photo-too-large">
                    <span className="rule-badge">R8</span> {bi(tooLarge)}
                  </div>
                )}
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
