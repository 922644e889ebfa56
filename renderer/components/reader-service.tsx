import { useState } from 'react';
import type { ServicePinRequest } from '../../core/api/events.ts';
import { useI18n } from '../i18n.tsx';
import { useClient, useLive } from '../live.tsx';
import { useNotify } from '../notify.tsx';
import './reader-service.css';

/** What the customer display says for each PIN the service's function asks for. */
export function servicePrompt(p: ServicePinRequest['prompt'], t: (zh: string, en: string) => string): string {
  switch (p) {
    case 'pin':
      return t('请输入密码', 'Please enter your PIN');
    case 'old-pin':
      return t('请输入原密码', 'Please enter your current PIN');
    case 'new-pin':
      return t('请输入新密码', 'Please enter the new PIN');
    case 'new-pin-again':
      return t('请再次输入新密码', 'Please enter the new PIN again');
  }
}

/**
 * 读卡服务 (reader service): serves the card in this reader to HIS / POS software on this
 * computer, as `sscard driver serve` does — the national reader interface over WebSocket and
 * HTTP on 127.0.0.1, the native libSSCardDriver.so through it. The holder types PINs on the
 * till's customer PIN pad.
 */
export function ReaderServicePanel() {
  const { service } = useLive();
  const client = useClient();
  const notify = useNotify();
  const { t } = useI18n();
  const [working, setWorking] = useState(false);
  const running = service?.running ?? false;

  const toggle = async () => {
    setWorking(true);
    try {
      if (running) await client.call('stopReaderService', {});
      else {
        const v = await client.call('startReaderService', {});
        if (v.port !== v.requestedPort)
          notify.info(
            `端口 ${v.requestedPort} 已被占用，读卡服务改用 ${v.url}`,
            `Port ${v.requestedPort} is taken: the reader service uses ${v.url}`,
          );
      }
    } catch (e) {
      notify.error(e);
    } finally {
      setWorking(false);
    }
  };

  return (
    <section
      className="reader-service"
      data-testid="reader-service"
      aria-label={t('读卡服务', 'Reader service')}
    >
      <div className="rs-head">
        <strong>{t('读卡服务', 'Reader service')}</strong>
        <span
          className={running ? 'rs-state ok' : 'rs-state muted'}
          data-testid="reader-service-state"
          role="status"
        >
          {running ? t('运行中', 'running') : t('已停止', 'stopped')}
        </span>
        <button
          type="button"
          className={running ? 'danger' : 'primary'}
          data-testid="reader-service-toggle"
          disabled={working || service === null}
          title={
            running
              ? t('停止读卡服务：HIS 将无法再读卡', 'Stop the service: the HIS can no longer read the card')
              : t(
                  '让本机的 HIS/POS 软件通过标准读卡接口读这台读卡器里的卡',
                  'Let HIS / POS software on this computer read the card in this reader through the standard reader interface',
                )
          }
          onClick={() => void toggle()}
        >
          {running ? t('停止', 'Stop') : t('启动', 'Start')}
        </button>
      </div>
      {running && service ? (
        <div className="rs-body">
          <div className="rs-line">
            <span className="muted">{t('服务地址', 'Service URL')}</span>
            <code className="mono" data-testid="reader-service-url">
              {service.url}
            </code>
          </div>
          <div className="rs-line">
            <span className="muted">WebSocket</span>
            <code className="mono">{service.wsUrl}</code>
          </div>
          <div className="rs-line">
            <span className="muted">libSSCardDriver.so</span>
            <code className="mono">SSCARD_DRIVER_URL={service.url}</code>
          </div>
          <p className="rs-hint muted">
            {t(
              `把这个地址填入 HIS 的读卡服务设置。需要密码时，持卡人在收银台的密码键盘上输入（${service.pinTimeoutSeconds} 秒内）。`,
              `Give this address to the HIS. When a function needs the PIN, the holder types it on the till's PIN pad (within ${service.pinTimeoutSeconds} s).`,
            )}
          </p>
          {service.waiting && (
            <p className="rs-waiting warn" data-testid="reader-service-waiting">
              {t(
                `${service.waiting.functionName} 正在等待持卡人输入密码（收银台密码键盘）`,
                `${service.waiting.functionName} is waiting for the holder's PIN (the till's PIN pad)`,
              )}
            </p>
          )}
        </div>
      ) : (
        <p className="rs-hint muted">
          {t(
            '启动后，医院/药店的 HIS 软件可通过标准读卡接口（iReadCardBas、iVerifyPIN…）读取这台读卡器里的卡。',
            'Once started, hospital / pharmacy HIS software reads the card in this reader through the standard reader interface (iReadCardBas, iVerifyPIN …).',
          )}
        </p>
      )}
    </section>
  );
}
