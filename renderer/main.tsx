import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';
import { App } from './app.tsx';
import { connect } from './api-client.ts';
import { LiveContext, LiveState } from './live.tsx';

const root = createRoot(document.getElementById('root')!);

connect()
  .then(async (client) => {
    const live = new LiveState(client);
    await live.start();
    root.render(
      <StrictMode>
        <LiveContext.Provider value={live}>
          <App />
        </LiveContext.Provider>
      </StrictMode>,
    );
  })
  .catch((e: unknown) => {
    const failure = (e as { failure?: { zh: string; en: string } }).failure;
    root.render(
      <div className="fatal" role="alert" data-testid="fatal">
        <h1>无法连接终端 · Cannot reach the till</h1>
        <p>{failure ? `${failure.zh} / ${failure.en}` : String(e)}</p>
        <p>
          请用 npm run web 打印的完整地址（含 #token=…）打开。Open the full address printed by npm run web
          (with #token=…).
        </p>
      </div>,
    );
  });
