/**
 * The six-digit secret entry shared by the PIN change and the activation forms, so both mask,
 * filter and size it the same way.
 */

export const SIX_DIGITS = /^[0-9]{6}$/;

/** A masked six-digit entry: digits only, never shown, never autofilled. */
export function PinField(props: { testId: string; label: string; value: string; onChange(v: string): void }) {
  return (
    <>
      <label htmlFor={props.testId}>{props.label}</label>
      <input
        id={props.testId}
        data-testid={props.testId}
        type="password"
        inputMode="numeric"
        autoComplete="off"
        maxLength={6}
        pattern="[0-9]{6}"
        className="pin-input"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value.replace(/\D/g, '').slice(0, 6))}
      />
    </>
  );
}
