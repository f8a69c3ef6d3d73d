import { useId, useState, type FormEvent } from 'react';
import { useNode } from '../nodeContext';
import { errorText } from '../format';

/** Reserve part of another shop's offer: a quantity and a note; the request waits for the seller, reachable or not. */
export function ReserveForm({ vaultId, productId, productName, unit, available }: { vaultId: string; productId: string; productName: string; unit: string; available: number }) {
  const { node, view } = useNode();
  const [open, setOpen] = useState(false);
  const [quantity, setQuantity] = useState('1');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const id = useId();
  if (!view.shop) return null;
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)} disabled={available <= 0} aria-label={`Reserve ${productName}`}>
        Reserve
      </button>
    );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      await node.reserve(vaultId, productId, Number(quantity.replace(',', '.')), note.trim());
      setMessage({ ok: true, text: 'Request sent. The seller answers it; follow it under Reservations.' });
      setNote('');
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="reserve" aria-label={`Reserve ${productName}`} onSubmit={submit}>
      <label htmlFor={`${id}-q`}>Quantity ({unit})</label>
      <input id={`${id}-q`} inputMode="decimal" value={quantity} onChange={(e) => setQuantity(e.currentTarget.value)} required />
      <label htmlFor={`${id}-n`}>Note to the seller</label>
      <input id={`${id}-n`} value={note} maxLength={120} onChange={(e) => setNote(e.currentTarget.value)} placeholder="Optional" />
      <button type="submit" disabled={busy}>
        Send request
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Close
      </button>
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? undefined : 'error'}>
          {message.text}
        </p>
      )}
    </form>
  );
}
