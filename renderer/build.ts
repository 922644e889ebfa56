import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export interface RendererBundle {
  /** index.html, app.js, app.css, by file name. */
  files: Map<string, { contentType: string; body: Buffer }>;
}

const ROOT = fileURLToPath(new URL('.', import.meta.url));

/** The page: no inline script or style, so the Content-Security-Policy can forbid both. */
export const INDEX_HTML = `<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>社保卡终端实验室 SSCard Lab</title>
    <link rel="stylesheet" href="./app.css" />
  </head>
  <body>
    <div id="root"></div>
    <script type="module" src="./app.js"></script>
  </body>
</html>
`;

/**
 * Bundles the React renderer with esbuild, in memory (the web host) or into a folder
 * (`outdir`: the Electron app and electron-builder).
 */
export async function buildRenderer(
  options: { outdir?: string; minify?: boolean } = {},
): Promise<RendererBundle> {
  const result = await build({
    entryPoints: { app: `${ROOT}main.tsx` },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120'],
    jsx: 'automatic',
    minify: options.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    write: Boolean(options.outdir),
    outdir: options.outdir ?? '/renderer-out',
    logLevel: 'silent',
  });
  const files = new Map<string, { contentType: string; body: Buffer }>();
  files.set('index.html', { contentType: 'text/html; charset=utf-8', body: Buffer.from(INDEX_HTML) });
  for (const f of result.outputFiles ?? []) {
    const name = f.path.split('/').pop()!;
    const type = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    files.set(name, { contentType: type, body: Buffer.from(f.contents) });
  }
  if (options.outdir) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${options.outdir}/index.html`, INDEX_HTML);
  }
  return { files };
}
