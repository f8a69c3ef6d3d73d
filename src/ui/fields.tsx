import { useEffect, useId, useRef, useState, type FormEvent, type ReactElement, type Ref } from 'react';
import { utf8Length } from '../core/vault/vaultLimits';
import { errorText } from './format';

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
  onInput?: (event: FormEvent<HTMLInputElement | HTMLTextAreaElement>) => void;
  ref?: Ref<HTMLInputElement & HTMLTextAreaElement>;
}

/**
 * A labelled control with, below it, a live byte counter ("64 of 120 bytes") when it has a byte
 * limit, and the merchant-facing error for it. `control` draws the input with the given props.
 */
export function Field({
  label,
  error,
  byteLimit,
  initial = '',
  control,
}: {
  label: string;
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
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
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
  const describedBy = [byteLimit ? counterId : '', message ? errorId : ''].filter(Boolean).join(' ');
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
