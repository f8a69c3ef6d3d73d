import * as A from '@automerge/automerge';
import { generateKeyPair, type KeyPair } from '../crypto/ed25519';
import { certifyDevice, encodeDeviceCertificate, type DeviceCertificate } from '../vault/deviceCertificate';
import { createShopKeys } from '../vault/shopKeys';
import { encodeSignedHeads, signHeads } from '../vault/signedHeads';
import { encodeDeviceRevocation, revokeDevice } from '../vault/deviceRevocation';
import { toBase64 } from '../wire/base64';
import { toHex } from '../wire/hex';
import { actorOfDevice, TRAIL_FORMAT, TRAIL_VERSION } from '../trade/auditTrail';
import { decodeTradeEvent, encodeTradeEvent, TRADE_EVENT_TYPES, type NewTradeEvent } from '../trade/tradeEvent';

export interface Dev { keys: KeyPair; cert: DeviceCertificate; hex: string; }

/** A shop vault with several certified devices, built by hand. */
export function handShop(name: string, devices = 2) {
  const keys = createShopKeys(1_700_000_000);
  const root = keys.root!;
  const devs: Dev[] = [{ keys: keys.device, cert: keys.certificate, hex: toHex(keys.device.publicKey) }];
  for (let i = 1; i < devices; i++) {
    const k = generateKeyPair();
    devs.push({ keys: k, cert: certifyDevice(root, k.publicKey, 1_700_000_000), hex: toHex(k.publicKey) });
  }
  let doc = A.from<Record<string, unknown>>(
    {
      schema: 2,
      profile: { name: new A.ImmutableString(name), area: new A.ImmutableString('Market'), currency: new A.ImmutableString('USD') },
      devices: Object.fromEntries(devs.map((d, i) => [d.hex, { name: new A.ImmutableString(`Till ${i}`), certificate: encodeDeviceCertificate(d.cert) }])),
      revocations: {},
      offerSets: {},
      offerFields: {},
      trade: {},
    },
    { actor: actorOfDevice(devs[0]!.hex) },
  );
  const vaultId = toHex(keys.vaultId);
  let counter = 1;
  const shop = {
    vaultId,
    root,
    devs,
    get doc() { return doc; },
    /** An edit written with the Automerge actor of `as` (whoever really makes it). */
    change(as: Dev, edit: (d: Record<string, unknown>) => void) {
      doc = A.change(A.clone(doc, { actor: actorOfDevice(as.hex) }), edit);
      counter++;
    },
    /** Writes a trade event at `id` with actor `as`, device prefix `as`. */
    write(as: Dev, id: string, event: Omit<NewTradeEvent, 'device'> & { device?: string }) {
      const bytes = encodeTradeEvent({ ...event, device: event.device ?? as.hex.slice(0, 8) } as NewTradeEvent);
      shop.change(as, (d) => { (d.trade as Record<string, Uint8Array>)[id] = bytes; });
      return bytes;
    },
    statement(by: Dev) { return signHeads(by.keys, by.cert, counter, A.getHeads(doc)); },
    revoke(dev: Dev, revokedAt: number) {
      const r = revokeDevice(root, dev.keys.publicKey, revokedAt, undefined);
      const bytes = encodeDeviceRevocation(r);
      shop.change(shop.devs.find((d) => d !== dev)!, (d) => { (d.revocations as Record<string, Uint8Array>)[dev.hex] = bytes; });
      return bytes;
    },
  };
  return shop;
}

export type HandShop = ReturnType<typeof handShop>;

export function vaultRecord(shop: HandShop, signers: Dev[], revocations: Uint8Array[] = []) {
  return {
    vaultId: shop.vaultId,
    shop: (shop.doc.profile as { name: A.ImmutableString }).name.val,
    document: toBase64(A.save(shop.doc)),
    statements: signers.map((s) => toBase64(encodeSignedHeads(shop.statement(s)))),
    revocations: revocations.map((r) => toBase64(r)),
  };
}

export function eventRecord(shop: HandShop, id: string) {
  const bytes = (shop.doc.trade as Record<string, Uint8Array>)[id]!;
  const e = decodeTradeEvent(id, bytes);
  const { type, id: _i, time, device, ...fields } = e as unknown as Record<string, unknown>;
  return { vault: shop.vaultId, id, type, name: TRADE_EVENT_TYPES[type as keyof typeof TRADE_EVENT_TYPES].name, time, device, bytes: toHex(bytes), fields };
}

export function trailFile(shop: string | null, events: unknown[], vaults: unknown[], period = { from: 0, to: 2 ** 32 }) {
  return JSON.stringify({ format: TRAIL_FORMAT, version: TRAIL_VERSION, shop, period, exportedAt: 1, events, vaults });
}
