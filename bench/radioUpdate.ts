import { closeAll, link, openNode, shopNode } from '../src/core/attacks/attackKit';
import { eventually } from '../src/core/test/rawPeer';
import { encodeEnvelope } from '../src/core/radio/radioEnvelope';
import { MAX_RADIO_PAYLOAD } from '../src/core/radio/loraAirtime';
import type { RadioUpdate } from '../src/core/radio/radioVaultSource';
import type { SoukNode } from '../src/core/node/soukNode';

/**
 * `radio-update`: the payload bytes on air (the radio envelope around the compact signed update)
 * of each kind of update a merchant makes, through the real node: a stock change, a price change,
 * an offer update (quantity and price at once), an offer withdrawn and offered again; on the
 * shop's first device and on a second device (another actor). ref = one Meshtastic packet (233).
 */
export async function radioUpdate(): Promise<void> {
  const first = await shopNode('Spice Stall');
  const second = await openNode();
  link(first, second);
  await second.joinShop(first.startPairing().code, 'Second till');
  const sizes = new Map<string, number>();
  for (const [device, node] of [['first device', first], ['second device', second]] as const) {
    const updates: RadioUpdate[] = [];
    const stop = node.radioSource().onOwnUpdate((u) => updates.push(u));
    const measured = async (kind: string, edit: () => Promise<unknown>) => {
      updates.length = 0;
      await edit();
      if (updates.length !== 1) throw new Error(`${kind} made ${updates.length} updates`);
      const update = updates[0]!;
      if (update.kind !== 'compact') throw new Error(`${kind} on the ${device} does not fit one packet: ${update.bytes.length}-byte bundle`);
      const onAir = encodeEnvelope({ kind: 'update', cls: update.cls, urgent: false, update: update.bytes }).length;
      sizes.set(`${kind} (${device})`, onAir);
    };
    const id = await productFor(node, first, device === 'first device' ? 'Saffron threads, Grade I' : 'Cumin, whole seed');
    await measured('stock change', () => node.adjustStock(id, -0.125));
    await measured('price change', () => setPrice(node, id, 987_654_321_098));
    await measured('offer update', () => node.setOffer(id, { quantity: 12.345, price: 123_456 }));
    await measured('offer withdrawn', () => node.setOffer(id, null));
    stop();
  }
  closeAll();
  const largest = Math.max(...sizes.values());
  console.log(`# radio-update: ${[...sizes].map(([k, v]) => `${k} ${v} B`).join('; ')}; payload = envelope (3 bytes) + compact signed update; ref = one Meshtastic packet`);
  console.log(`BENCH radio-update ${largest} bytes ref=${MAX_RADIO_PAYLOAD} ratio=${(largest / MAX_RADIO_PAYLOAD).toFixed(2)}`);
}

async function productFor(node: SoukNode, first: SoukNode, name: string): Promise<string> {
  const id = await node.addProduct({ name, sku: name.slice(0, 6).toUpperCase(), unit: 'kg', price: 1250, stock: 40 });
  await node.setOffer(id, { quantity: 40, price: 1250 });
  if (node !== first) await eventually(() => first.products(name).products.length === 1, 10_000, 'the first device to hold the product');
  return id;
}

async function setPrice(node: SoukNode, id: string, price: number): Promise<void> {
  const product = node.products().products.find((p) => p.id === id)!;
  await node.setOffer(id, { quantity: Math.min(product.offer!.quantity, product.stock), price });
}
