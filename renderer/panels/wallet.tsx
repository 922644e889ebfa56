import { useState, type DragEvent } from 'react';
import type { WalletEntry } from '../../core/api/wallet-api.ts';
import { useI18n, yuan } from '../i18n.tsx';
import { useClient, useLive, useQuery } from '../live.tsx';
import { useNotify } from '../notify.tsx';
import { FaultPanel } from '../components/fault-panel.tsx';
import { ReaderServicePanel } from '../components/reader-service.tsx';
import './wallet.css';

/** What a wallet card carries while it is dragged to the reader. */
const CARD_MIME = 'application/x-sscard-card';

const GEN: Record<1 | 2 | 3, [string, string]> = {
  1: ['一代', 'Gen 1'],
  2: ['二代', 'Gen 2'],
  3: ['三代', 'Gen 3'],
};

const STATUS: Record<string, [string, string, string]> = {
  active: ['正常', 'active', 'ok'],
  'not-activated': ['未启用', 'not activated', 'warn'],
  'loss-reported': ['已挂失', 'reported lost', 'bad'],
  closed: ['已注销', 'closed', 'bad'],
};

/**
 * 卡包 + 读卡器: the reader the till uses (the virtual one or a PC/SC reader), its slot with
 * the card in it and 拔卡 (works at any moment, even mid-payment), and the wallet's cards —
 * insert one by clicking 插卡 or by dragging it onto the slot.
 */
export function WalletSidebar() {
  const { reader, workspace, service } = useLive();
  const serving = service?.running ?? false;
  const client = useClient();
  const notify = useNotify();
  const { t } = useI18n();
  const [cards, cardsError] = useQuery((c) => c.call('listCards', {}));
  const [pcsc, , reloadPcsc] = useQuery((c) => c.call('listPcscReaders', {}));
  const [dragOver, setDragOver] = useState(false);
  const [switching, setSwitching] = useState(false);

  const isPcsc = reader?.kind === 'pcsc';
  const inReader = cards?.find((c) => c.id === reader?.cardId) ?? null;
  const today = workspace?.businessDate ?? '';

  const insert = async (cardId: string) => {
    try {
      await client.call('insertCard', { cardId });
    } catch (e) {
      notify.error(e);
    }
  };
  const pull = async () => {
    try {
      await client.call('removeCard', {});
    } catch (e) {
      notify.error(e);
    }
  };
  const chooseReader = async (name: string | null) => {
    setSwitching(true);
    try {
      await client.call('useReader', { reader: name });
    } catch (e) {
      notify.error(e);
    } finally {
      setSwitching(false);
    }
  };

  const carriesCard = (e: DragEvent) => e.dataTransfer.types.includes(CARD_MIME);
  const onDragOver = (e: DragEvent) => {
    if (isPcsc || !carriesCard(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
    setDragOver(true);
  };
  const onDrop = (e: DragEvent) => {
    setDragOver(false);
    if (isPcsc) return;
    const id = e.dataTransfer.getData(CARD_MIME);
    if (!id) return;
    e.preventDefault();
    void insert(id);
  };

  const pcscReaders = pcsc ?? [];
  const readerValue = isPcsc ? `pcsc:${reader.name}` : 'virtual';
  const pullWhy = !reader?.cardPresent
    ? t('读卡器里没有卡', 'The reader is empty')
    : isPcsc
      ? t('PC/SC 读卡器：请从实体读卡器取出卡片', 'PC/SC reader: take the card out of the physical reader')
      : t(
          '立即拔出卡片（交易中拔卡：交易中止，已扣款自动冲正）',
          'Pull the card out now (mid-payment: the sale stops, a debit is reversed)',
        );

  return (
    <section className="panel wallet-panel" data-testid="panel-wallet">
      <h2>{t('读卡器', 'Card reader')}</h2>
      <label className="wallet-reader-choice">
        <span className="muted">{t('终端使用', 'The till uses')}</span>
        <select
          data-testid="reader-choice"
          value={readerValue}
          disabled={switching || serving || (!isPcsc && pcscReaders.length === 0)}
          title={
            serving
              ? t(
                  '读卡服务正在运行：先停止读卡服务再换读卡器',
                  'The reader service is running: stop it before changing the reader',
                )
              : !isPcsc && pcscReaders.length === 0
                ? t(
                    '没有其他读卡器可选：未发现 PC/SC 读卡器',
                    'No other reader to choose: no PC/SC reader found',
                  )
                : t('选择终端使用的读卡器', 'Choose the reader the till uses')
          }
          onChange={(e) => {
            const v = e.target.value;
            void chooseReader(v === 'virtual' ? null : v.slice('pcsc:'.length));
          }}
        >
          <option value="virtual">{t('虚拟读卡器', 'Virtual reader')}</option>
          {pcscReaders.map((r) => (
            <option key={r.name} value={`pcsc:${r.name}`}>
              PC/SC: {r.name}
              {r.cardPresent ? t('（有卡）', ' (card in)') : ''}
            </option>
          ))}
          {isPcsc && !pcscReaders.some((r) => r.name === reader.name) && (
            <option value={readerValue}>PC/SC: {reader.name}</option>
          )}
        </select>
        <button
          type="button"
          className="link"
          data-testid="reader-refresh"
          title={t('重新查找 PC/SC 读卡器', 'Look for PC/SC readers again')}
          onClick={reloadPcsc}
        >
          {t('刷新', 'Refresh')}
        </button>
      </label>
      {pcsc !== null && pcscReaders.length === 0 && (
        <p className="wallet-note muted" data-testid="pcsc-unavailable">
          {t(
            '未发现 PC/SC 读卡器（PC/SC 不可用），使用虚拟读卡器。',
            'No PC/SC reader found (PC/SC not available); using the virtual reader.',
          )}
        </p>
      )}

      <div
        className={`reader-slot${reader?.cardPresent ? ' has-card' : ''}${dragOver ? ' drag-over' : ''}`}
        data-testid="reader-slot"
        onDragOver={onDragOver}
        onDragEnter={onDragOver}
        onDragLeave={() => setDragOver(false)}
        onDrop={onDrop}
        aria-label={t('读卡器卡槽', 'Reader slot')}
      >
        <div className="reader-name">
          <span className={isPcsc ? 'reader-kind pcsc' : 'reader-kind'}>
            {isPcsc ? 'PC/SC' : t('虚拟', 'Virtual')}
          </span>
          <span data-testid="reader-name">{reader?.name ?? '—'}</span>
        </div>
        <div className="reader-card" data-testid="reader-card">
          {!reader?.cardPresent ? (
            <span className="muted">
              {isPcsc
                ? t('空：请把实体卡插入读卡器', 'Empty: put a physical card in the reader')
                : t('空：把卡拖到这里，或点卡片的“插卡”', 'Empty: drag a card here, or click 插卡 on a card')}
            </span>
          ) : inReader ? (
            <>
              <span className={`gen-badge gen${inReader.generation}`}>{t(...GEN[inReader.generation])}</span>
              <strong>{inReader.holderName}</strong>
              <span className="mono">{inReader.cardNumber}</span>
            </>
          ) : (
            <span>{t('有卡（实体卡）', 'A card is in (physical card)')}</span>
          )}
        </div>
        <button
          type="button"
          className="danger"
          data-testid="pull-card"
          disabled={!reader?.cardPresent || isPcsc}
          title={pullWhy}
          onClick={() => void pull()}
        >
          {t('拔卡', 'Pull card')}
        </button>
      </div>
      <ReaderServicePanel />
      <FaultPanel />

      <h2 className="wallet-title">{t('卡包', 'Card wallet')}</h2>
      {cardsError && <p className="bad">{cardsError.message}</p>}
      {!cards && !cardsError && <p className="muted">{t('正在读取卡包…', 'Loading the wallet…')}</p>}
      <ul className="wallet-cards">
        {cards?.map((c) => (
          <WalletCard key={c.id} card={c} today={today} pcsc={isPcsc} onInsert={() => void insert(c.id)} />
        ))}
      </ul>
    </section>
  );
}

function WalletCard({
  card: c,
  today,
  pcsc,
  onInsert,
}: {
  card: WalletEntry;
  today: string;
  pcsc: boolean;
  onInsert(): void;
}) {
  const { t } = useI18n();
  const status = STATUS[c.status] ?? [c.status, c.status, 'warn'];
  const expired = today !== '' && c.expiryDate < today;
  const insertWhy = pcsc
    ? t('正在使用 PC/SC 读卡器：请把实体卡插入读卡器', 'A PC/SC reader is in use: put a physical card in it')
    : c.inReader
      ? t('这张卡已在读卡器中', 'This card is already in the reader')
      : t('把这张卡插入读卡器（也可拖到读卡器）', 'Put this card in the reader (or drag it there)');
  const pin = c.pin.blocked
    ? { text: t('密码已锁定', 'PIN blocked'), cls: 'bad' }
    : c.pin.initial
      ? { text: t('初始密码（不能交易）', 'Initial PIN (cannot pay)'), cls: 'warn' }
      : {
          text: t(
            `密码可试 ${c.pin.triesLeft}/${c.pin.retryLimit} 次`,
            `PIN ${c.pin.triesLeft}/${c.pin.retryLimit} tries`,
          ),
          cls: c.pin.triesLeft < c.pin.retryLimit ? 'warn' : 'muted',
        };
  const money = (fen: number | null) => (fen === null ? t('未开通', 'none') : yuan(fen));

  return (
    <li
      className={`wallet-card gen${c.generation}${c.inReader ? ' in-reader' : ''}`}
      data-testid={`wallet-card-${c.id}`}
      draggable={!pcsc && !c.inReader}
      title={pcsc || c.inReader ? undefined : t('拖到读卡器插卡', 'Drag onto the reader to insert')}
      onDragStart={(e) => {
        e.dataTransfer.setData(CARD_MIME, c.id);
        e.dataTransfer.setData('text/plain', c.id);
        e.dataTransfer.effectAllowed = 'move';
      }}
    >
      <div className="wc-top">
        <span className={`gen-badge gen${c.generation}`}>{t(...GEN[c.generation])}</span>
        <strong className="wc-name">{c.holderName}</strong>
        {c.inReader && <span className="wc-in">{t('在读卡器中', 'in the reader')}</span>}
      </div>
      <div className="wc-line mono">
        {c.cardNumber}
        <span className={expired ? 'bad' : 'muted'}>
          {' · '}
          {expired
            ? t(`已过期 ${c.expiryDate}`, `expired ${c.expiryDate}`)
            : t(`有效期至 ${c.expiryDate}`, `valid to ${c.expiryDate}`)}
        </span>
      </div>
      <div className="wc-line">
        <span className={status[2]} data-testid={`status-${c.id}`}>
          {t(status[0], status[1])}
        </span>
        {' · '}
        <span className={pin.cls} data-testid={`pin-state-${c.id}`}>
          {pin.text}
        </span>
      </div>
      <dl className="wc-balances" data-testid={`balances-${c.id}`}>
        <div>
          <dt>{t('金融账户', 'Bank')}</dt>
          <dd className="mono">{money(c.balances.reserve)}</dd>
        </div>
        <div>
          <dt>95000 {t('当年', 'current')}</dt>
          <dd className="mono">{money(c.balances.medicalCurrent)}</dd>
        </div>
        <div>
          <dt>95001 {t('历年', 'prior')}</dt>
          <dd className="mono">{money(c.balances.medicalPrior)}</dd>
        </div>
      </dl>
      <div className="wc-actions">
        <span className="muted wc-source">
          {c.source === 'bundled' ? t('示例卡', 'sample card') : t('本行发卡', 'issued here')}
        </span>
        <button
          type="button"
          className="primary"
          data-testid={`insert-${c.id}`}
          disabled={pcsc || c.inReader}
          title={insertWhy}
          onClick={onInsert}
        >
          {t('插卡', 'Insert')}
        </button>
      </div>
    </li>
  );
}
