import type { ESLint } from 'eslint';

export interface Layer {
  readonly name: string;
  readonly paths: readonly string[];
}
export declare const LAYERS: readonly Layer[];
export declare function layerOf(rel: string): number;
export declare function importProblem(from: string, to: string, typeOnly: boolean): string | null;
declare const plugin: ESLint.Plugin;
export default plugin;
