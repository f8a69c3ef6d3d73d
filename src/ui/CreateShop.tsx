import { useState, type FormEvent } from 'react';
import { TEXT_LIMITS } from '../core/vault/vaultLimits';
import { useNode } from './nodeContext';
import { CurrencyOptions, Field, FormAlert, messageFor, problemOf, SELECT_STYLE, type FormProblem } from './fields';
import { amountHint } from './format';

/** The labels the node's messages start with, for the fields of a shop's profile. */
export const PROFILE_FIELDS = ['Shop name', 'Area', 'Currency', 'Exact location', 'Role'] as const;

/** What a participant does: one identity model, the role in the profile; the app shows what the role needs. */
export function RoleField({ problem, initial = 'shop' }: { problem: FormProblem | null; initial?: string }) {
  return (
    <Field
      label="Role"
      error={messageFor(problem, 'Role')}
      hint="A shop or a supplier sells from a catalog; a driver delivers other shops' sales."
      control={(props) => (
        <select {...props} name="role" defaultValue={initial} style={SELECT_STYLE}>
          <option value="shop">Shop</option>
          <option value="supplier">Supplier</option>
          <option value="driver">Driver</option>
        </select>
      )}
    />
  );
}

export function CreateShop() {
  const { node } = useNode();
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [currency, setCurrency] = useState('USD');
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setProblem(null);
    try {
      await node.createShop({
        name: String(form.get('name')),
        area: String(form.get('area')),
        currency: String(form.get('currency')),
        exactLocation: String(form.get('exactLocation')),
        role: String(form.get('role') ?? 'shop') as 'shop' | 'supplier' | 'driver',
      });
    } catch (e) {
      setProblem(problemOf(e, PROFILE_FIELDS));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="card" aria-label="Create your shop" onSubmit={submit}>
      <h2>Create your shop</h2>
      <p>Your shop lives on this device. A key for it is made here and never leaves.</p>
      <Field
        label="Shop name"
        byteLimit={TEXT_LIMITS.shopName}
        error={messageFor(problem, 'Shop name')}
        control={(props) => <input {...props} name="name" required autoComplete="organization" />}
      />
      <Field
        label="Area"
        error={messageFor(problem, 'Area')}
        control={(props) => <input {...props} name="area" required maxLength={TEXT_LIMITS.area} placeholder="Town, district or market" />}
      />
      <Field
        label="Currency"
        error={messageFor(problem, 'Currency')}
        hint={`${amountHint(currency)}. Every price of your shop is in this currency; you can change it later.`}
        control={(props) => (
          <select {...props} name="currency" required value={currency} onChange={(e) => setCurrency(e.currentTarget.value)} style={SELECT_STYLE}>
            <CurrencyOptions />
          </select>
        )}
      />
      <Field
        label="Exact location (private)"
        error={messageFor(problem, 'Exact location')}
        control={(props) => <input {...props} name="exactLocation" maxLength={TEXT_LIMITS.exactLocation} placeholder="Only you see this" />}
      />
      <RoleField problem={problem} />
      <FormAlert problem={problem} />
      <button type="submit" disabled={busy}>
        Create shop
      </button>
    </form>
  );
}
