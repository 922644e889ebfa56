import { resolveCard } from '../../../core/card/wallet.ts';
import { SocialSecurityCard, type CardOptions } from '../../../core/card/social-security-card.ts';
import { fromHex, toHex } from '../../../core/card/hex.ts';
import { seededRandom } from '../../../core/card/crypto.ts';
import { parseProfile, type CardProfile, type CardProfileInput } from '../../../core/card/profile.ts';

/** Test helpers: bundled cards with a reproducible challenge source. */
export function bundled(id: string): CardProfile {
  return resolveCard(id).profile;
}

export function card(id: string, options: CardOptions = {}): SocialSecurityCard {
  const c = new SocialSecurityCard(bundled(id), { random: seededRandom(7), ...options });
  c.powerOn();
  return c;
}

export function cardFrom(profile: CardProfile, options: CardOptions = {}): SocialSecurityCard {
  const c = new SocialSecurityCard(profile, { random: seededRandom(7), ...options });
  c.powerOn();
  return c;
}

/** A bundled profile with some fields changed (validated again). */
export function variant(id: string, change: (p: CardProfileInput) => void): CardProfile {
  const copy = structuredClone(bundled(id)) as CardProfileInput;
  change(copy);
  return parseProfile(copy, `variant of ${id}`);
}

/** Sends hex, returns the response as uppercase hex. */
export function tx(c: SocialSecurityCard, hex: string): string {
  return toHex(c.transmit(fromHex(hex)));
}

export function sw(c: SocialSecurityCard, hex: string): string {
  return tx(c, hex).slice(-4);
}

export const SELECT_SSSE = '00A404000F7378312E73682EC9E7BBE1B1A3D5CF';
export const SELECT_DEBIT = '00A4040008A000000333010101';
