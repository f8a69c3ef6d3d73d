import * as A from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { actorOfDevice, exportTrail, verifyTrailExport } from '../trade/auditTrail';
import { readVaultContent } from '../vault/vaultShape';
import { signHeads } from '../vault/signedHeads';
import { encodeTradeEvent, slotId } from '../trade/tradeEvent';
import { eventRecord, handShop, trailFile, vaultRecord } from '../test/trailKit';
import { fromHex, toHex } from '../wire/hex';

/** The second outside review of the audit trail: each attack that worked once, as a regression. */
const T = 1_750_000_000;
const offer = (time: number, product = 'honey') => ({ type: 'offerCreated' as const, time, product, quantity: 5, price: 700, expiresOn: null, receipts: [] });

describe('the trail verifier under attack', () => {
  it('an event dated after its device was removed from the shop does not verify', () => {
    const shop = handShop('Ada');
    const [a, b] = shop.devs as [(typeof shop.devs)[0], (typeof shop.devs)[0]];
    const revocation = shop.revoke(a, T);
    shop.write(a, '00000000000000a2', { ...offer(T + 86_400), device: a.hex.slice(0, 8) });
    const verdict = verifyTrailExport(trailFile(shop.vaultId, [eventRecord(shop, '00000000000000a2')], [vaultRecord(shop, [b], [revocation])]));
    expect(verdict.valid).toBe(false);
    expect(verdict.problems.join('\n')).toMatch(/dated after its device .* was removed/);
  });

  it('a trail that leaves out an expected shop’s event, or whose period is reversed, does not verify', () => {
    const shop = handShop('Ada', 1);
    const [a] = shop.devs;
    shop.write(a!, '00000000000000b1', offer(T));
    shop.write(a!, '00000000000000b2', offer(T + 60, 'saffron')); // left out
    const events = [eventRecord(shop, '00000000000000b1')];
    const vaults = [vaultRecord(shop, [a!])];
    expect(verifyTrailExport(trailFile(shop.vaultId, events, vaults), [shop.vaultId]).valid).toBe(false);
    const unnamed = verifyTrailExport(trailFile(null, events, vaults), [shop.vaultId]);
    expect(unnamed.valid).toBe(false);
    expect(unnamed.problems.join('\n')).toMatch(/in the period but not listed/);
    expect(verifyTrailExport(trailFile(shop.vaultId, events, vaults, { from: T + 1000, to: T - 1000 }), [shop.vaultId]).problems).toContain('the period ends before it starts');
  });

  it('a derived step two devices wrote apart: the export lists the value every node reads, and it verifies', () => {
    const shop = handShop('Ada');
    const [a, b] = shop.devs as [(typeof shop.devs)[0], (typeof shop.devs)[0]];
    const request = { vault: '11'.repeat(8), id: '22'.repeat(8) };
    const id = slotId('seen', request);
    const build = (ta: number, tb: number) => {
      const vA = encodeTradeEvent({ type: 'reservationSeen', time: ta, device: a.hex.slice(0, 8), request });
      const vB = encodeTradeEvent({ type: 'reservationSeen', time: tb, device: b.hex.slice(0, 8), request });
      const da = A.change(A.clone(shop.doc, { actor: actorOfDevice(a.hex) }), (d) => void ((d.trade as Record<string, Uint8Array>)[id] = vA));
      const db = A.change(A.clone(shop.doc, { actor: actorOfDevice(b.hex) }), (d) => void ((d.trade as Record<string, Uint8Array>)[id] = vB));
      const merged = A.merge(da, db);
      const content = readVaultContent(merged, fromHex(shop.vaultId));
      const winner = toHex((merged.trade as Record<string, Uint8Array>)[id]!);
      const read = toHex(encodeTradeEvent(content.trade!.find((e) => e.id === id)!));
      return { merged, content, winner, read };
    };
    let built = build(T + 5, T + 9);
    if (built.winner === built.read) built = build(T + 9, T + 5);
    expect(built.winner).not.toBe(built.read); // Automerge's winner is not the value nodes read
    const statement = signHeads(a.keys, a.cert, 2, A.getHeads(built.merged));
    const json = exportTrail({ from: 0, to: 2 ** 32 }, [{ vaultId: shop.vaultId, content: built.content, document: A.save(built.merged), statements: [statement], revocations: [] }], { shop: shop.vaultId });
    // Only the request it answers (made up here, in no vault) is missing.
    expect(verifyTrailExport(json).problems.filter((p) => !/which the file does not hold/.test(p))).toEqual([]);
  });
});
