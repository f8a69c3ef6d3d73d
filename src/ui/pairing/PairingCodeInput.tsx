import { useId, useState, type FormEvent } from 'react';
import { isPairingCode, PAIRING_CODE_CHARS, parsePairingCode, type PairingCode } from '../../core/pairing/pairingCode';

/** Letters and digits typed so far, the way parsePairingCode counts them (separators aside). */
function typedLength(value: string): number {
  return value.replace(/[\s\-\u2010-\u2015\u2212]/gu, '').length;
}

/** A character parsePairingCode refuses: not an ASCII letter or digit or separator, or U. */
const NOT_IN_CODES = /[^\s\-\u2010-\u2015\u22120-9A-Za-z]|[Uu]/u;

/**
 * "Join a shop" by hand: the pairing code shown on the other device, typed. What is wrong with it
 * shows under the field — a typo as soon as the code is complete, anything else when the merchant
 * presses Join — so no wrong code ever reaches the network.
 */
export function PairingCodeInput({ onCode, busy = false }: { onCode(code: PairingCode): void; busy?: boolean }) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const [value, setValue] = useState('');
  const [submitted, setSubmitted] = useState(false);
  const parsed = parsePairingCode(value);
  // While typing, a code that is merely short is not wrong yet: speak up once it is complete (or too
  // long), at a character no code has, or after a Join.
  const speak = submitted || typedLength(value) >= PAIRING_CODE_CHARS || NOT_IN_CODES.test(value);
  const error = speak && !isPairingCode(parsed) ? parsed.error : null;

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSubmitted(true);
    if (busy || !isPairingCode(parsed)) return;
    onCode(parsed);
  }

  return (
    <form className="pairing-code-input" aria-label="Type the pairing code" onSubmit={submit} noValidate>
      <div className="field">
        <label htmlFor={id}>Pairing code</label>
        <input
          id={id}
          name="pairingCode"
          value={value}
          onChange={(event) => {
            setValue(event.currentTarget.value);
            setSubmitted(false);
          }}
          placeholder="XXXX-XXXX-XXXX-X"
          autoComplete="one-time-code"
          autoCapitalize="characters"
          autoCorrect="off"
          spellCheck={false}
          enterKeyHint="go"
          maxLength={40}
          aria-describedby={error ? `${hintId} ${errorId}` : hintId}
          {...(error ? { 'aria-invalid': true } : {})}
          readOnly={busy}
        />
        <small id={hintId} className="hint">
          The code under the QR code on your other device: 13 letters and digits.
        </small>
        {error && (
          <p id={errorId} role="alert" className="field-error">
            {error}
          </p>
        )}
      </div>
      <button type="submit" disabled={busy}>
        {busy ? 'Joining…' : 'Join'}
      </button>
    </form>
  );
}
