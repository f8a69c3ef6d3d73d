import { useState, type FormEvent } from 'react';
import type { ShopView } from '../core/node/nodeView';
import { rescaleMinorUnits } from '../core/catalog/catalog';
import { currencyMinorUnits, isCurrencyCode } from '../core/catalog/currency';
import { TEXT_LIMITS } from '../core/vault/vaultLimits';
import { PROFILE_FIELDS, RoleField } from './CreateShop';
import { CurrencyOptions, Field, FormAlert, messageFor, problemOf, SELECT_STYLE, type FormProblem } from './fields';
import { amountHint, money } from './format';
import { useNode } from './nodeContext';
import { fingerprintOf, ShopKey } from './ShopMarks';
import { text } from './safe';

/**
 * What changing the currency does to the catalog, with an example: the figures are kept
 * (12.50 USD becomes 12.500 KWD), never converted at an exchange rate; with fewer decimals
 * they are rounded (12.50 USD becomes 13 JPY).
 */
export function currencyChangeNote(from: string, to: string): string {
  if (from === to || !isCurrencyCode(from) || !isCurrencyCode(to)) return '';
  const example = 1250 * 10 ** Math.max(0, currencyMinorUnits(from) - 2);
  const rounded = currencyMinorUnits(to) < currencyMinorUnits(from) ? ` (rounded to ${currencyMinorUnits(to) === 0 ? 'whole amounts' : `${currencyMinorUnits(to)} decimals`})` : '';
  return (
    `Changing the currency keeps every price's figures: ${money(example, from)} becomes ${money(rescaleMinorUnits(example, from, to), to)}${rounded}. ` +
    `It does not convert at an exchange rate: check your prices after saving.`
  );
}

/** The profile form; it starts again from the profile whenever the profile changes, so `saved` lives with the caller. */
function ProfileForm({ shop, saved, setSaved }: { shop: ShopView; saved: string; setSaved: (message: string) => void }) {
  const { node } = useNode();
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [currency, setCurrency] = useState(shop.currency);
  const note = currencyChangeNote(shop.currency, currency);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setProblem(null);
    setSaved('');
    try {
      await node.updateProfile({
        name: String(form.get('name') ?? ''),
        area: String(form.get('area') ?? ''),
        currency,
        exactLocation: String(form.get('exactLocation') ?? ''),
        role: String(form.get('role') ?? shop.role) as ShopView['role'],
      });
      setSaved(currency !== shop.currency ? `Saved. Prices are now in ${currency}, with their figures kept.` : 'Saved.');
    } catch (e) {
      setProblem(problemOf(e, PROFILE_FIELDS));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form aria-label="Shop profile" onSubmit={submit}>
      <Field
        label="Shop name"
        byteLimit={TEXT_LIMITS.shopName}
        initial={shop.name}
        error={messageFor(problem, 'Shop name')}
        control={(props) => <input {...props} name="name" required defaultValue={shop.name} />}
      />
      <Field
        label="Area"
        error={messageFor(problem, 'Area')}
        control={(props) => <input {...props} name="area" required maxLength={TEXT_LIMITS.area} defaultValue={shop.area} />}
      />
      <Field
        label="Exact location (private)"
        error={messageFor(problem, 'Exact location')}
        control={(props) => <input {...props} name="exactLocation" maxLength={TEXT_LIMITS.exactLocation} defaultValue={shop.exactLocation} />}
      />
      <Field
        label="Currency"
        error={messageFor(problem, 'Currency')}
        hint={note || `${amountHint(currency)}.`}
        control={(props) => (
          <select {...props} name="currency" required value={currency} onChange={(e) => setCurrency(e.currentTarget.value)} style={SELECT_STYLE}>
            {!isCurrencyCode(shop.currency) && <option value={shop.currency}>{shop.currency}</option>}
            <CurrencyOptions />
          </select>
        )}
      />
      <RoleField problem={problem} initial={shop.role} />
      <FormAlert problem={problem} />
      {saved && <p role="status">{saved}</p>}
      <button type="submit" disabled={busy}>
        Save shop profile
      </button>
    </form>
  );
}

/** The merchant's own shop: its key (to read to a partner) and its profile, editable. */
export function ShopProfile({ shop }: { shop: ShopView }) {
  const [saved, setSaved] = useState('');
  const fingerprint = fingerprintOf(shop.fingerprint, shop.vaultId);
  return (
    <section className="card" aria-label="Your shop">
      <h2>Your shop</h2>
      <p>
        <ShopKey label="Your shop key" fingerprint={fingerprint} />
      </p>
      <p className="hint">
        Read this key to partners so they can tell your shop from any other with the same name. Full key:{' '}
        <code className="full-key">{text(shop.vaultId)}</code>
      </p>
      <details>
        <summary>Edit shop profile</summary>
        <ProfileForm shop={shop} saved={saved} setSaved={setSaved} key={`${shop.name}\n${shop.area}\n${shop.exactLocation}\n${shop.currency}\n${shop.role}`} />
      </details>
    </section>
  );
}
