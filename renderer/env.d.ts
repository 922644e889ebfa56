/** esbuild bundles CSS imported by the renderer into app.css. */
declare module '*.css';
