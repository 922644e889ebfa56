import type { TestProject } from 'vitest/node';
import { ensurePcscd, type PcscdStatus } from './pcscd.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pcscd: PcscdStatus;
  }
}

/** Starts a pcscd of our own for the PC/SC tests when none is running; stops it after. */
export default async function setup(project: TestProject) {
  const { status, stop } = await ensurePcscd();
  project.provide('pcscd', status);
  return stop;
}
