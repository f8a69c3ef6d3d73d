import { useDeferredValue, useEffect, useRef, useState, type FormEvent } from 'react';
import { parseAmount } from '../core/catalog/currency';
import { AmountField, Field, FormAlert, messageFor, problemOf, type FormProblem } from './fields';
import { useNode, useNodeQuery } from './nodeContext';
import { errorText, money, userLocale } from './format';
import { MoveList } from './catalog/StockMoves';

/**
 * The counter: find a product (search, or scan its barcode where the browser has a
 * BarcodeDetector), a quantity and a price, "Record sale". Below, the day's sales and takings
 * and the day's stock moves, each with Undo. Days are the merchant's (the browser's time zone).
 */

/** The merchant's day (YYYY-MM-DD) and its offset from UTC as Date.getTimezoneOffset gives it. */
function localDay(): { day: string; offset: number } {
  const now = new Date();
  const offset = now.getTimezoneOffset();
  return { day: new Date(now.getTime() - offset * 60_000).toISOString().slice(0, 10), offset };
}

const SALE_FIELDS = ['Quantity', 'Price', 'Product'] as const;

interface Detector {
  detect(source: HTMLVideoElement): Promise<readonly { rawValue: string }[]>;
}

/** Reads a product barcode with the camera, through the browser's own BarcodeDetector (shown only where it exists). */
function BarcodeScan({ onCode }: { onCode(code: string): void }) {
  const [scanning, setScanning] = useState(false);
  const [message, setMessage] = useState('');
  const video = useRef<HTMLVideoElement>(null);
  const Native = (globalThis as { BarcodeDetector?: new (options?: { formats?: string[] }) => Detector }).BarcodeDetector;
  useEffect(() => {
    if (!scanning || !Native) return;
    let stream: MediaStream | undefined;
    let stopped = false;
    void (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        if (stopped || !video.current) return;
        video.current.srcObject = stream;
        await video.current.play();
        const detector = new Native({ formats: ['ean_13', 'ean_8', 'upc_a', 'upc_e', 'code_128', 'code_39', 'qr_code'] });
        while (!stopped) {
          const [found] = await detector.detect(video.current);
          if (found?.rawValue) {
            onCode(found.rawValue);
            setScanning(false);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } catch (error) {
        setMessage(`The camera could not read a barcode: ${errorText(error)}`);
        setScanning(false);
      }
    })();
    return () => {
      stopped = true;
      for (const track of stream?.getTracks() ?? []) track.stop();
    };
  }, [scanning, Native, onCode]);
  if (!Native) return null;
  return (
    <div className="barcode-scan">
      <button type="button" onClick={() => setScanning(!scanning)}>
        {scanning ? 'Stop scanning' : 'Scan barcode'}
      </button>
      {scanning && <video ref={video} muted playsInline aria-label="Camera" style={{ maxWidth: '100%' }} />}
      {message && <p role="alert">{message}</p>}
    </div>
  );
}

export function Counter({ currency }: { currency: string }) {
  const { node } = useNode();
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const found = useNodeQuery((n) => n.products(deferred, 20), [deferred]);
  const [chosen, setChosen] = useState('');
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [done, setDone] = useState('');
  const [undoError, setUndoError] = useState('');
  const { day, offset } = localDay();
  const sales = useNodeQuery((n) => n.daySales(day, offset), [day, offset]);
  const history = useNodeQuery((n) => n.stockHistory({ day, utcOffsetMinutes: offset, limit: 100 }), [day, offset]);
  const matches = found?.products ?? [];
  // A scanned or typed SKU that matches exactly, or a single match, is the product.
  const exact = matches.find((p) => p.sku !== '' && p.sku.toLowerCase() === deferred.trim().toLowerCase());
  const productId = matches.some((p) => p.id === chosen) ? chosen : (exact?.id ?? (matches.length === 1 ? matches[0]!.id : ''));
  const product = matches.find((p) => p.id === productId);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setProblem(null);
    setDone('');
    try {
      if (!product) throw new Error('Product: choose a product to sell');
      const quantity = Number(form.get('quantity'));
      const priceText = String(form.get('price') ?? '').trim();
      const unitPrice = priceText === '' ? undefined : parseAmount(priceText, currency, userLocale(), 'Price');
      await node.sellAtCounter({ productId: product.id, quantity, ...(unitPrice !== undefined ? { unitPrice } : {}) });
      setDone(`Sold ${quantity} ${product.unit} of ${product.name}.`);
      formElement.reset();
    } catch (e) {
      setProblem(problemOf(e, SALE_FIELDS));
    }
  }

  return (
    <section aria-label="Counter">
      <form className="card counter" aria-label="Record a sale" onSubmit={submit}>
        <label className="search">
          Search or scan a product
          <input type="search" value={query} onChange={(e) => setQuery(e.currentTarget.value)} placeholder="name or SKU" />
        </label>
        <BarcodeScan onCode={setQuery} />
        <Field
          label="Product"
          error={messageFor(problem, 'Product')}
          control={(props) => (
            <select {...props} value={productId} onChange={(e) => setChosen(e.currentTarget.value)} required>
              <option value="">{matches.length ? 'Choose a product' : 'No product matches'}</option>
              {matches.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                  {p.sku ? ` (${p.sku})` : ''} — {p.stock} {p.unit} in stock
                </option>
              ))}
            </select>
          )}
        />
        <Field
          label="Quantity"
          error={messageFor(problem, 'Quantity')}
          control={(props) => <input {...props} name="quantity" type="number" min="0" step="any" required defaultValue="1" />}
        />
        {/* Keyed by product: the price starts at the product's own. */}
        <AmountField key={product?.id ?? 'none'} label="Price" name="price" currency={currency} value={product?.price} error={messageFor(problem, 'Price')} />
        <FormAlert problem={problem} />
        <button type="submit" disabled={!product}>
          Record sale
        </button>
        {done && <p role="status">{done}</p>}
      </form>
      <section className="card" aria-label="Today's sales">
        <h2>Today</h2>
        <p>
          {sales ? (
            <>
              <span>
                {sales.count} {sales.count === 1 ? 'sale' : 'sales'}
              </span>
              {' · '}
              <span>Takings {money(sales.takings, currency)}</span>
            </>
          ) : (
            'Loading…'
          )}
        </p>
      </section>
      <section aria-label="Today's stock moves">
        <h2>Today’s stock moves</h2>
        {undoError && <p role="alert">{undoError}</p>}
        <MoveList
          moves={history ?? []}
          currency={currency}
          label="Stock moves today"
          showProduct
          onUndo={(id) => node.undoMove(id).then(() => setUndoError(''), (e: unknown) => setUndoError(errorText(e)))}
        />
      </section>
    </section>
  );
}
