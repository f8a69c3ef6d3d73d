import { useState } from 'react';
import { shopFingerprint } from '../core/node/shopIdentity';
import { useNode } from './nodeContext';
import { errorText } from './format';
import { text } from './safe';

/**
 * What tells shops apart, shown wherever a shop is: its key's fingerprint (a name can be copied,
 * a key cannot), whether the merchant trusts it, and a warning when a new shop takes the name of
 * one the merchant already knows.
 */

const FINGERPRINT = /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/;

/** The fingerprint as given, if it looks like one; else worked out from the id. */
export function fingerprintOf(fingerprint: unknown, vaultId: unknown): string {
  const given = text(fingerprint);
  if (FINGERPRINT.test(given)) return given;
  const id = text(vaultId);
  return /^[0-9a-f]{12}/.test(id) ? shopFingerprint(id) : 'unknown';
}

/** "Shop key a1b2-c3d4-e5f6", the key in monospace. */
export function ShopKey({ fingerprint, label = 'Shop key' }: { fingerprint: string; label?: string }) {
  return (
    <span className="shop-key">
      {label} <code>{fingerprint}</code>
    </span>
  );
}

export function ShopBadges({ own, trusted }: { own: boolean; trusted: boolean }) {
  return (
    <>
      {own && <span className="badge own">Your shop</span>}
      {trusted && !own && <span className="badge trusted">Trusted</span>}
    </>
  );
}

/** Shown on a shop that reads the same as a shop known earlier (own, trusted or seen first). */
export function LookAlikeWarning({ original, ownShopId }: { original: string; ownShopId: string | undefined }) {
  const originalKey = fingerprintOf(undefined, original);
  return (
    <p role="alert" className="look-alike">
      <strong>New shop using the name of a shop you know — check the key.</strong>{' '}
      {original === ownShopId ? 'Your own shop has' : 'The shop you know has'} key <code>{originalKey}</code>.
    </p>
  );
}

/** "Trust Honest (a1b2-c3d4-e5f6)" / "Stop trusting …": the merchant's mark on a shop they know. */
export function TrustButton({ vaultId, name, fingerprint, trusted }: { vaultId: string; name: string; fingerprint: string; trusted: boolean }) {
  const { node } = useNode();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function toggle() {
    setBusy(true);
    setError('');
    try {
      await node.setTrusted(vaultId, !trusted);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  const action = trusted ? 'Stop trusting' : 'Trust';
  return (
    <span className="trust">
      <button type="button" className="small" disabled={busy} aria-label={`${action} ${name} (${fingerprint})`} onClick={() => void toggle()}>
        {action}
      </button>
      {error && <span role="alert">{error}</span>}
    </span>
  );
}
