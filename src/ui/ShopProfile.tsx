import { useState, type FormEvent } from 'react';
import type { ShopView } from '../core/node/nodeView';
import { TEXT_LIMITS } from '../core/vault/vaultLimits';
import { PROFILE_FIELDS } from './CreateShop';
import { Field, FormAlert, messageFor, problemOf, type FormProblem } from './fields';
import { useNode } from './nodeContext';
import { fingerprintOf, ShopKey } from './ShopMarks';
import { text } from './safe';

/** The merchant's own shop: its key (to read to a partner) and its profile, editable. */
export function ShopProfile({ shop }: { shop: ShopView }) {
  const { node } = useNode();
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const fingerprint = fingerprintOf(shop.fingerprint, shop.vaultId);
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
        currency: shop.currency,
        exactLocation: String(form.get('exactLocation') ?? ''),
      });
      setSaved('Saved.');
    } catch (e) {
      setProblem(problemOf(e, PROFILE_FIELDS));
    } finally {
      setBusy(false);
    }
  }
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
        <form aria-label="Shop profile" onSubmit={submit} key={`${shop.name}\n${shop.area}\n${shop.exactLocation}`}>
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
            control={(props) => (
              <input {...props} name="exactLocation" maxLength={TEXT_LIMITS.exactLocation} defaultValue={shop.exactLocation} />
            )}
          />
          <FormAlert problem={problem} />
          {saved && <p role="status">{saved}</p>}
          <button type="submit" disabled={busy}>
            Save shop profile
          </button>
        </form>
      </details>
    </section>
  );
}
