import { useState, type FormEvent } from 'react';
import type { MoveView } from '../../core/node/nodeView';
import type { Product } from '../../core/vault/vaultDocuments';
import { SUPPLIER_BYTES } from '../../core/catalog/stockMoves';
import { useNode, useNodeQuery } from '../nodeContext';
import { clock, errorText, money } from '../format';

/**
 * Named stock moves in the catalog: the "Stock move" control on each product (sale, delivery
 * received, correction, waste — each kept in the history), its batches with what is left of each,
 * "Receive batch", and its history with Undo. The moves themselves are the node's
 * (catalog/stockMoves.ts); nothing here computes stock.
 */

export const MOVE_LABELS: Record<MoveView['kind'], string> = {
  sale: 'Sale',
  received: 'Delivery received',
  correction: 'Correction',
  waste: 'Waste',
  reservation: 'Reservation',
  undo: 'Undo',
};

/** A signed quantity as the merchant reads it: "+5", "−2". */
export function signed(value: number): string {
  return value > 0 ? `+${value}` : value < 0 ? `−${-value}` : '0';
}

/** One entry of the history in words: "Sale −2 each, 12.00" / "Correction 13 → 11". */
export function moveText(move: MoveView, currency: string): string {
  const parts = [MOVE_LABELS[move.kind]];
  if (move.kind === 'correction' && move.before !== null && move.after !== null) parts.push(`${move.before} → ${move.after} ${move.unit}`);
  else parts.push(`${signed(move.delta)} ${move.unit}`);
  if (move.total !== null) parts.push(money(move.total, currency));
  if (move.batch?.expiresOn) parts.push(`expires ${move.batch.expiresOn}`);
  if (move.batch?.supplier) parts.push(`from ${move.batch.supplier}`);
  if (move.note) parts.push(`“${move.note}”`);
  return parts.join(' · ');
}

/** The control that replaces "Adjust": a kind, a quantity (for a correction: the count) and a note. */
export function StockMoveForm({ product }: { product: Product }) {
  const { node } = useNode();
  const [error, setError] = useState('');
  const [kind, setKind] = useState<'sale' | 'received' | 'correction' | 'waste'>('sale');
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setError('');
    try {
      await node.stockMove(product.id, { kind, quantity: Number(form.get('quantity')), note: String(form.get('note') ?? '') });
      formElement.reset();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <form className="stock-move" aria-label={`Stock move for ${product.name}`} onSubmit={submit}>
      <select aria-label={`Kind of stock move for ${product.name}`} value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
        <option value="sale">Sale</option>
        <option value="received">Delivery received</option>
        <option value="correction">Correction (counted)</option>
        <option value="waste">Waste</option>
      </select>
      <input
        name="quantity"
        type="number"
        min="0"
        step="any"
        required
        aria-label={kind === 'correction' ? `Counted stock of ${product.name}` : `Quantity moved for ${product.name}`}
        placeholder={kind === 'correction' ? 'counted' : 'qty'}
      />
      <input name="note" maxLength={200} aria-label={`Note for the stock move of ${product.name}`} placeholder="note" />
      <button type="submit" aria-label={`Record stock move for ${product.name}`}>
        Record
      </button>
      {error && <span role="alert">{error}</span>}
    </form>
  );
}

/** "Receive batch": quantity, expiry, supplier (private), received date, the invoice as a file or its hash. */
function ReceiveBatch({ product }: { product: Product }) {
  const { node } = useNode();
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const file = form.get('invoiceFile');
    setError('');
    setDone('');
    setBusy(true);
    try {
      const quantity = Number(form.get('quantity'));
      await node.receiveBatch(product.id, {
        quantity,
        expiresOn: String(form.get('expiresOn') ?? ''),
        supplier: String(form.get('supplier') ?? ''),
        receivedOn: String(form.get('receivedOn') ?? ''),
        invoiceHash: String(form.get('invoiceHash') ?? ''),
        ...(file instanceof File && file.size > 0 ? { invoiceFile: file } : {}),
      });
      formElement.reset();
      setDone(`Received ${quantity} ${product.unit}; the receipt is signed.`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="receive-batch" aria-label={`Receive a batch of ${product.name}`} onSubmit={submit}>
      <label>
        Quantity received
        <input name="quantity" type="number" min="0" step="any" required />
      </label>
      <label>
        Expires on
        <input name="expiresOn" type="date" />
      </label>
      <label>
        Supplier (private)
        <input name="supplier" maxLength={SUPPLIER_BYTES} />
      </label>
      <label>
        Received on
        <input name="receivedOn" type="date" defaultValue={new Date().toISOString().slice(0, 10)} />
      </label>
      <label>
        Invoice file
        <input name="invoiceFile" type="file" />
      </label>
      <label>
        or invoice hash (BLAKE3, 64 hex)
        <input name="invoiceHash" pattern="[0-9a-fA-F]{64}" autoComplete="off" />
      </label>
      <button type="submit" disabled={busy}>
        Receive batch
      </button>
      {error && <p role="alert">{error}</p>}
      {done && <p role="status">{done}</p>}
    </form>
  );
}

/** A product's batches, its "Receive batch" form and its history. */
export function StockDetails({ product, currency }: { product: Product; currency: string }) {
  const { node } = useNode();
  const stock = useNodeQuery((n) => n.productStock(product.id), [product.id]);
  const history = useNodeQuery((n) => n.stockHistory({ productId: product.id, limit: 50 }), [product.id]);
  const [error, setError] = useState('');
  return (
    <div className="stock-details">
      {stock && stock.batches.length > 0 ? (
        <table className="batches" aria-label={`Batches of ${product.name}`}>
          <thead>
            <tr>
              <th scope="col">Expires</th>
              <th scope="col">Left</th>
              <th scope="col">Received</th>
              <th scope="col">Supplier</th>
              <th scope="col">Receipt</th>
            </tr>
          </thead>
          <tbody>
            {stock.batches.map((b) => (
              <tr key={b.id} className={b.expired ? 'expired' : b.nearExpiry ? 'near-expiry' : undefined}>
                <td>
                  {b.expiresOn || 'no expiry'}
                  {b.expired ? ' (expired)' : b.nearExpiry ? ' (soon)' : ''}
                </td>
                <td>
                  {b.remaining} of {b.received} {product.unit}
                </td>
                <td>{b.receivedOn || '—'}</td>
                <td>{b.supplier || '—'}</td>
                <td>{b.receipt ? `signed${b.invoice ? (b.invoiceFile ? ', invoice attached' : ', invoice hash') : ''}` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>No batches.</p>
      )}
      {stock && stock.unbatched > 0 && stock.batches.length > 0 && (
        <p>
          {stock.unbatched} {product.unit} in no batch.
        </p>
      )}
      <details>
        <summary>Receive batch</summary>
        <ReceiveBatch product={product} />
      </details>
      <h3>History</h3>
      {error && <p role="alert">{error}</p>}
      <MoveList moves={history ?? []} currency={currency} label={`Stock history of ${product.name}`} onUndo={(id) => node.undoMove(id).then(() => setError(''), (e: unknown) => setError(errorText(e)))} />
    </div>
  );
}

/** A history list with Undo on each move that may be undone. */
export function MoveList({ moves, currency, label, onUndo, showProduct = false }: { moves: MoveView[]; currency: string; label: string; onUndo(id: string): void; showProduct?: boolean }) {
  if (!moves.length) return <p>No stock moves yet.</p>;
  return (
    <ol className="moves" aria-label={label}>
      {moves.map((move) => {
        const what = `${MOVE_LABELS[move.kind].toLowerCase()} of ${move.productName} at ${clock(move.at)}`;
        return (
          <li key={move.id} aria-label={`${MOVE_LABELS[move.kind]} ${showProduct ? `${move.productName} ` : ''}${clock(move.at)}`} className={move.undoneBy ? 'undone' : undefined}>
            <time dateTime={new Date(move.at).toISOString()}>{clock(move.at)}</time> {showProduct && <strong>{move.productName} </strong>}
            {moveText(move, currency)}
            {!move.thisDevice && <small> (another device)</small>}
            {move.undoneBy ? (
              <small> — undone</small>
            ) : move.kind !== 'undo' && move.kind !== 'reservation' ? (
              <button type="button" aria-label={`Undo ${what}`} onClick={() => onUndo(move.id)}>
                Undo
              </button>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}

/** Batches that expire soon or expired with stock left: shown above the catalog. */
export function ExpiryAlerts() {
  const { view } = useNode();
  const alerts = view.expiryAlerts ?? [];
  if (!alerts.length) return null;
  return (
    <div className="card expiry-alerts" role="alert" aria-label="Expiry alerts">
      <strong>Check these batches:</strong>
      <ul>
        {alerts.map((a) => (
          <li key={`${a.productId}/${a.batchId}`}>
            {a.name}: {a.remaining} {a.unit} {a.expired ? `expired on ${a.expiresOn} — not sold nor offered; record it as waste` : `expire${a.remaining === 1 ? 's' : ''} on ${a.expiresOn}`}
          </li>
        ))}
      </ul>
    </div>
  );
}
