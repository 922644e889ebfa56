/**
 * The shape every rule check in this folder uses to say "no" (or "careful"): the rule from
 * `domain-rules.md` that produced it, and the same sentence in Chinese (what a counter clerk
 * reads) and English (what the logs and the English UI show). Checks return these instead of
 * throwing: a rejected number or an ineligible applicant is an expected answer, not an error.
 */
export type RuleId = 'R3.1' | 'R3.2' | 'R3.3' | 'R3.4' | 'R5.1' | 'R5.2' | 'R6' | 'R7.1' | 'R7.4';

export interface RuleReason {
  rule: RuleId;
  zh: string;
  en: string;
}

export const ruleReason = (rule: RuleId, zh: string, en: string): RuleReason => ({ rule, zh, en });
