import { roundQuantity, takeFefo, type FefoTake } from '../catalog/fefo';
import { reservationMoveId } from '../catalog/stockMoves';
import { InputError } from '../inputError';
import type { CatalogDraft } from './ownShop';

/**
 * For the reservation engine, inside a shop edit (`editShop`'s draft): the private stock move that
 * fulfils a reservation request — stock −quantity and a `reservation` entry in the moves history,
 * filed at an id derived from the request (`reservationMoveId`), so writing it twice (a retry, a
 * second device) is one entry and moves the stock once. `takes` are the batches the acceptance
 * held; without them the batches are taken now, earliest expiry first, never expired ones.
 * Throws an InputError when the stock cannot cover it. Returns the move's id, whether this call
 * wrote it, and the takes recorded.
 */
export function recordReservationMove(
  draft: CatalogDraft,
  input: { request: { vault: string; id: string }; productId: string; quantity: number; unitPrice?: number; at: number; takes?: FefoTake[]; note?: string },
): { moveId: string; written: boolean; takes: FefoTake[] } {
  const moveId = reservationMoveId(input.request);
  const existing = draft.moveEntry(moveId);
  if (existing) return { moveId, written: false, takes: existing.takes.map((t) => ({ ...t })) };
  const product = draft.products.get(input.productId);
  if (!product) throw new InputError('product', 'That product no longer exists');
  const quantity = roundQuantity(input.quantity);
  if (!(quantity > 0)) throw new InputError('Quantity', 'A reservation moves a quantity above 0');
  let takes = input.takes;
  if (!takes) {
    const stock = draft.stockOf(product.id);
    const fefo = takeFefo(stock.batches, quantity, draft.today, { unbatched: stock.unbatched });
    if (fefo.shortfall > 0) throw new InputError('Quantity', `Only ${roundQuantity(quantity - fefo.shortfall)} ${product.unit} of ${product.name} may be sold; the reservation needs ${quantity}`);
    takes = fefo.takes;
  }
  if (quantity > product.stock) throw new InputError('Quantity', `Only ${product.stock} ${product.unit} of ${product.name} in stock; the reservation needs ${quantity}`);
  // Filed under the move's own id, not this device's running sum: fulfilled on two devices apart, it merges into one move.
  draft.moveOnce(product.id, moveId, -quantity);
  draft.recordMove(moveId, {
    kind: 'reservation',
    product: product.id,
    delta: -quantity,
    takes,
    at: input.at,
    device: draft.device,
    request: `${input.request.vault}:${input.request.id}`,
    ...(input.unitPrice !== undefined ? { price: input.unitPrice, total: Math.round(input.unitPrice * quantity) } : {}),
    ...(input.note ? { note: input.note } : {}),
  });
  return { moveId, written: true, takes };
}
