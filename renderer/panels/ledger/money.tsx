import { yuan } from '../../i18n.tsx';

/**
 * A table cell with an amount in yuan, right-aligned like every number in the ledger.
 */

export function Money({ fen, className }: { fen: number | null | undefined; className?: string }) {
  return <td className={`num ${className ?? ''}`}>{yuan(fen)}</td>;
}
