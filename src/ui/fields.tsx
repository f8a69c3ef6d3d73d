import { useEffect, useId, useRef, useState, type FormEvent, type ReactElement, type ReactNode, type Ref } from 'react';
import { CURRENCIES } from '../core/catalog/currency';
import { utf8Length } from '../core/vault/vaultLimits';
import { amountHint, amountInput, errorText } from './format';

/**
 * Form fields that say what is wrong next to the field: the node's messages name the field they
 * are about ("Shop name is too long: 139 bytes, …"), so an error is shown under the field whose
 * label starts it, and at the form's foot otherwise. Text limits are in bytes of UTF-8, so fields
 * with a limit can count bytes as the merchant types.
 */

export interface FormProblem {
  /** The label of the field the message is about, if it names one. */
  field?: string;
  message: string;
}

/** Which of `labels` a message is about: the longest label it starts with ("Offer price" before "Price"). */
export function problemOf(error: unknown, labels: readonly string[]): FormProblem {
  const message = errorText(error);
  const field = [...labels]
    .sort((a, b) => b.length - a.length)
    .find((label) => message.startsWith(`${label} `) || message.startsWith(`${label}:`));
  return field ? { field, message } : { message };
}

/** The problem, if it is about this field. */
export function messageFor(problem: FormProblem | null, label: string): FormProblem | undefined {
  return problem?.field === label ? problem : undefined;
}

/** The message for the form's foot: a problem no field took. */
export function FormAlert({ problem }: { problem: FormProblem | null }) {
  return problem && !problem.field ? <p role="alert">{problem.message}</p> : null;
}

interface ControlProps {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: true;
  onInput?: (event: FormEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => void;
  ref?: Ref<HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement>;
}

type FieldControl = HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement;

/**
 * A labelled control with, below it, a hint (how to fill it in), a live byte counter ("64 of 120
 * bytes") when it has a byte limit, and the merchant-facing error for it; all three describe the
 * control. `control` draws the input with the given props.
 */
export function Field({
  label,
  error,
  byteLimit,
  initial = '',
  hint,
  control,
}: {
  label: string;
  /** How to fill the field in, shown under it and read as its description. */
  hint?: ReactNode;
  /** The problem with this field from the last attempt; hidden once the merchant edits the field. */
  error?: FormProblem;
  byteLimit?: number;
  /** The control's starting value, for the counter. */
  initial?: string;
  control: (props: ControlProps) => ReactElement;
}) {
  const id = useId();
  const counterId = `${id}-bytes`;
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const ref = useRef<FieldControl>(null);
  const [value, setValue] = useState(initial);
  const [edited, setEdited] = useState<FormProblem | undefined>();
  const message = error && error !== edited ? error.message : undefined;
  // A form reset puts the control back to its default value: follow it.
  useEffect(() => {
    const form = ref.current?.form;
    if (!byteLimit || !form) return;
    const onReset = () => setTimeout(() => setValue(ref.current?.value ?? ''), 0);
    form.addEventListener('reset', onReset);
    return () => form.removeEventListener('reset', onReset);
  }, [byteLimit]);
  const used = byteLimit ? utf8Length(value.trim()) : 0;
  const over = byteLimit !== undefined && used > byteLimit;
  const describedBy = [hint ? hintId : '', byteLimit ? counterId : '', message ? errorId : ''].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {control({
        id,
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
        ...(message || over ? { 'aria-invalid': true as const } : {}),
        onInput: (event) => {
          if (byteLimit) setValue(event.currentTarget.value);
          if (error) setEdited(error);
        },
        ref,
      })}
      {hint && (
        <small id={hintId} className="hint" style={{ display: 'block', marginTop: '0.15rem' }}>
          {hint}
        </small>
      )}
      {byteLimit !== undefined && (
        <small id={counterId} className={over ? 'byte-count over' : 'byte-count'}>
          {used} of {byteLimit} bytes{over ? ' — too long' : ''}
        </small>
      )}
      {message && (
        <p id={errorId} role="alert" className="field-error">
          {message}
        </p>
      )}
    </div>
  );
}

/**
 * An amount in the shop's currency, typed in the merchant's language ("12,50" in de-DE): a
 * decimal keypad on phones, no browser pattern (the node's parseAmount says what is wrong), and
 * the currency with its decimals under the field.
 */
export function AmountField({
  label,
  name,
  currency,
  value,
  required = false,
  error,
}: {
  label: string;
  name: string;
  currency: string;
  /** The amount the field starts with, in minor units. */
  value?: number | null;
  required?: boolean;
  error?: FormProblem;
}) {
  return (
    <Field
      label={label}
      error={error}
      hint={amountHint(currency)}
      control={(props) => (
        <input {...props} name={name} inputMode="decimal" autoComplete="off" required={required} defaultValue={amountInput(value, currency)} />
      )}
    />
  );
}

const CURRENCY_CODES = Object.keys(CURRENCIES).sort();

/** The options of a currency picker: every ISO 4217 code with its name ("KWD — Kuwaiti Dinar"); typing the code finds it. */
export function CurrencyOptions() {
  return (
    <>
      {CURRENCY_CODES.map((code) => (
        <option key={code} value={code}>
          {code} — {CURRENCIES[code]!.name}
        </option>
      ))}
    </>
  );
}

/** A currency picker's look: selects have no rule of their own in styles.css. */
export const SELECT_STYLE = { font: 'inherit', width: '100%', minHeight: '2.5rem', padding: '0.35rem', borderRadius: '0.3rem' } as const;
