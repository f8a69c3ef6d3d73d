import { useState, type FormEvent } from 'react';
import { useNode } from './nodeContext';
import { errorText } from './format';

export function CreateShop() {
  const { node } = useNode();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError('');
    try {
      await node.createShop({
        name: String(form.get('name')),
        area: String(form.get('area')),
        currency: String(form.get('currency')),
        exactLocation: String(form.get('exactLocation')),
      });
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="card" aria-label="Create your shop" onSubmit={submit}>
      <h2>Create your shop</h2>
      <p>Your shop lives on this device. A key for it is made here and never leaves.</p>
      <label>
        Shop name
        <input name="name" required maxLength={80} autoComplete="organization" />
      </label>
      <label>
        Area
        <input name="area" required maxLength={80} placeholder="Town, district or market" />
      </label>
      <label>
        Currency
        <input name="currency" required defaultValue="USD" maxLength={3} pattern="[A-Za-z]{3}" />
      </label>
      <label>
        Exact location (private)
        <input name="exactLocation" maxLength={200} placeholder="Only you see this" />
      </label>
      {error && <p role="alert">{error}</p>}
      <button type="submit" disabled={busy}>
        Create shop
      </button>
    </form>
  );
}
