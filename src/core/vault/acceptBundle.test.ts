import * as A from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { HostileOwner, validOffer } from '../test/hostileOwner';
import { toHex } from '../wire/hex';
import { acceptBundle, type VaultBundle, type VerifiedVault } from './acceptBundle';
import { VAULT_LIMITS } from './automergeCost';
import { seededBelow as random } from '../seededRandom';
import { readVaultContent } from './vaultShape';

const options = { limits: VAULT_LIMITS };

function firstVersion() {
  const owner = new HostileOwner('Fuzz Shop', { a: validOffer('a', 'Apples', 120), b: validOffer('b', 'Bread', 80) });
  const outcome = acceptBundle(undefined, { statements: [owner.statement()], snapshot: true, changes: [owner.snapshot()] }, options);
  if (!outcome.accepted) throw new Error(outcome.reason);
  return { owner, current: outcome.vault };
}


function mutate(bytes: Uint8Array, next: (n: number) => number): Uint8Array {
  const out = bytes.slice();
  switch (next(4)) {
    case 0:
      for (let i = 0, n = 1 + next(4); i < n && out.length; i++) { const at = next(out.length); out[at] = out[at]! ^ (1 << next(8)); }
      return out;
    case 1:
      return out.slice(0, next(out.length));
    case 2: {
      const at = next(out.length + 1);
      const extra = new Uint8Array(1 + next(16)).map(() => next(256));
      return new Uint8Array([...out.slice(0, at), ...extra, ...out.slice(at)]);
    }
    default: {
      const at = next(out.length);
      return new Uint8Array([...out.slice(0, at), ...out.slice(at + 1 + next(8))]);
    }
  }
}

function fingerprint(vault: VerifiedVault): string {
  return `${vault.statements.map((s) => s.counter).join(',')}|${A.getHeads(vault.doc).join(',')}|${toHex(A.save(vault.doc))}`;
}

describe('acceptBundle, a pure function', () => {
  it('takes a genuine first version and a genuine next version', () => {
    const { owner, current } = firstVersion();
    const before = A.getHeads(owner.doc);
    owner.change((d) => void ((d.offerFields as Record<string, unknown>)['a/p'] = 130));
    const outcome = acceptBundle(current, { statements: [owner.statement()], snapshot: false, changes: A.getChangesSince(owner.doc, before) }, options);
    expect(outcome.accepted).toBe(true);
    if (outcome.accepted) expect(outcome.vault.content.offers.find((o) => o.productId === 'a')!.price).toBe(130);
  });

  it('never changes the current state, whatever it is given (fuzzed)', () => {
    const { owner, current } = firstVersion();
    const held = fingerprint(current);
    const before = A.getHeads(owner.doc);
    owner.change((d) => void ((d.offerFields as Record<string, unknown>)['b/q'] = 4));
    const statement = owner.statement();
    const changes = A.getChangesSince(owner.doc, before);
    const snapshot = owner.snapshot();
    const next = random(20261124);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 1500; i++) {
      const kind = next(3);
      let bundle: VaultBundle;
      if (kind === 0) bundle = { statements: [statement], snapshot: true, changes: [mutate(snapshot, next)] };
      else if (kind === 1) bundle = { statements: [statement], snapshot: false, changes: changes.map((c) => (next(2) ? mutate(c, next) : c)) };
      else {
        const heads = [...statement.heads];
        heads[0] = toHex(mutate(new Uint8Array(Buffer.from(heads[0]!, 'hex')), next)).padEnd(64, '0').slice(0, 64);
        bundle = { statements: [{ ...statement, heads }], snapshot: true, changes: [snapshot] };
      }
      const outcome = acceptBundle(current, bundle, options);
      // Whatever happened, the state held is untouched.
      expect(fingerprint(current)).toBe(held);
      if (outcome.accepted) {
        accepted++;
        expect(A.getMissingDeps(outcome.vault.doc, [])).toEqual([]);
        expect([...A.getHeads(outcome.vault.doc)].sort()).toEqual(statement.heads);
        expect(() => readVaultContent(outcome.vault.doc)).not.toThrow();
        // An accepted version is the signed one: its canonical encoding is the owner's document.
        expect(toHex(outcome.canonical)).toBe(toHex(A.save(owner.doc)));
      } else {
        refused++;
        expect(outcome.reason.length).toBeGreaterThan(0);
      }
    }
    expect(refused).toBeGreaterThan(1000);
    expect(accepted + refused).toBe(1500);
    // The held state is still usable: the genuine bundle applies to it afterwards.
    expect(acceptBundle(current, { statements: [statement], snapshot: false, changes }, options).accepted).toBe(true);
  });

  it('refuses stale versions without blaming the sender, and forgeries with blame', () => {
    const { owner, current } = firstVersion();
    const stale = acceptBundle(current, { statements: [owner.statement()], snapshot: true, changes: [owner.snapshot()] }, options);
    expect(stale).toMatchObject({ accepted: false, offence: false });
    const forged = { ...owner.statement(), counter: 2 };
    const outcome = acceptBundle(current, { statements: [forged], snapshot: true, changes: [owner.snapshot()] }, options);
    expect(outcome).toMatchObject({ accepted: false, offence: true, reason: 'heads signature does not verify' });
  });
});
