import { useDeferredValue, useState, type FormEvent } from 'react';
import type { Product } from '../core/vault/vaultDocuments';
import { parseAmount } from '../core/catalog/currency';
import { TEXT_LIMITS } from '../core/vault/vaultLimits';
import { CatalogFile } from './catalog/CatalogFile';
import { ProductFiles, ProductThumbnail } from './files/ProductFiles';
import { ExpiryAlerts, StockDetails, StockMoveForm } from './catalog/StockMoves';
import { AmountField, Field, FormAlert, messageFor, problemOf, type FormProblem } from './fields';
import { useNode, useNodeQuery } from './nodeContext';
import { errorText, money, userLocale } from './format';

const SHOWN = 100;

/** An amount typed in the merchant's locale (its decimal separator), in the currency's minor units; undefined when empty. */
function amountField(form: FormData, name: string, label: string, currency: string): number | undefined {
  const text = String(form.get(name) ?? '').trim();
  return text === '' ? undefined : parseAmount(text, currency, userLocale(), label);
}

function productInput(form: FormData, currency: string) {
  const stock = Number(form.get('stock') || 0);
  const expiresOn = String(form.get('expiresOn') ?? '');
  return {
    name: String(form.get('name') ?? ''),
    sku: String(form.get('sku') ?? ''),
    unit: String(form.get('unit') ?? ''),
    price: amountField(form, 'price', 'Price', currency) ?? parseAmount('', currency, userLocale(), 'Price'),
    stock,
    costPrice: amountField(form, 'costPrice', 'Cost price', currency) ?? null,
    shelf: String(form.get('shelf') ?? ''),
    supplierNotes: String(form.get('supplierNotes') ?? ''),
    ...(expiresOn ? { batches: [{ quantity: stock, expiresOn }] } : {}),
  };
}

/** The labels the node's messages start with, for the fields of a product and its offer. */
const PRODUCT_FIELDS = [
  'Name',
  'SKU',
  'Unit',
  'Price',
  'Stock',
  'Expires on',
  'Cost price',
  'Shelf',
  'Supplier notes',
  'Offered quantity',
  'Offer price',
] as const;

function ProductFields({ product, currency, problem }: { product?: Product; currency: string; problem: FormProblem | null }) {
  const error = (label: string) => messageFor(problem, label);
  return (
    <>
      <Field
        label="Name"
        byteLimit={TEXT_LIMITS.productName}
        initial={product?.name ?? ''}
        error={error('Name')}
        control={(props) => <input {...props} name="name" required defaultValue={product?.name} />}
      />
      <Field
        label="SKU"
        error={error('SKU')}
        control={(props) => <input {...props} name="sku" maxLength={TEXT_LIMITS.sku} defaultValue={product?.sku} />}
      />
      <Field
        label="Unit"
        error={error('Unit')}
        control={(props) => <input {...props} name="unit" maxLength={TEXT_LIMITS.unit} defaultValue={product?.unit ?? 'each'} />}
      />
      <AmountField label="Price" name="price" currency={currency} value={product?.price} required error={error('Price')} />
      <Field
        label="Stock"
        error={error('Stock')}
        control={(props) => <input {...props} name="stock" type="number" min="0" step="any" required defaultValue={product?.stock ?? 0} />}
      />
      {!product && (
        // A new product's first batch; later batches come through "Receive batch".
        <Field label="Expires on" error={error('Expires on')} control={(props) => <input {...props} name="expiresOn" type="date" />} />
      )}
      <fieldset>
        <legend>Private — never leaves this device</legend>
        <AmountField label="Cost price" name="costPrice" currency={currency} value={product?.costPrice} error={error('Cost price')} />
        <Field
          label="Shelf"
          error={error('Shelf')}
          control={(props) => <input {...props} name="shelf" maxLength={TEXT_LIMITS.shelf} defaultValue={product?.shelf} />}
        />
        <Field
          label="Supplier notes"
          error={error('Supplier notes')}
          control={(props) => (
            <textarea {...props} name="supplierNotes" maxLength={TEXT_LIMITS.supplierNotes} defaultValue={product?.supplierNotes} />
          )}
        />
      </fieldset>
    </>
  );
}

function AddProduct({ currency }: { currency: string }) {
  const { node } = useNode();
  const [problem, setProblem] = useState<FormProblem | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    setProblem(null);
    try {
      await node.addProduct(productInput(new FormData(formElement), currency));
      formElement.reset();
    } catch (e) {
      setProblem(problemOf(e, PRODUCT_FIELDS));
    }
  }
  return (
    <details className="card">
      <summary>Add a product</summary>
      <form aria-label="Add a product" onSubmit={submit}>
        <ProductFields currency={currency} problem={problem} />
        <FormAlert problem={problem} />
        <button type="submit">Add product</button>
      </form>
    </details>
  );
}

function ProductEditor({ product, currency, done }: { product: Product; currency: string; done: () => void }) {
  const { node } = useNode();
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [offered, setOffered] = useState(product.offer !== null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setProblem(null);
    try {
      const input = productInput(form, currency);
      const offer = offered
        ? { quantity: Number(form.get('offerQuantity') || 0), price: amountField(form, 'offerPrice', 'Offer price', currency) ?? input.price }
        : null;
      // One edit: the product and its offer are saved together or not at all.
      await node.updateProduct(product.id, input, offer);
      done();
    } catch (e) {
      setProblem(problemOf(e, PRODUCT_FIELDS));
    }
  }
  return (
    <form className="editor" aria-label={`Edit ${product.name}`} onSubmit={submit}>
      <ProductFields product={product} currency={currency} problem={problem} />
      <fieldset>
        <legend>Offer to the network</legend>
        <label className="inline">
          <input type="checkbox" checked={offered} onChange={(e) => setOffered(e.currentTarget.checked)} />
          Offer to the network
        </label>
        {offered && (
          <>
            <Field
              label="Offered quantity"
              error={messageFor(problem, 'Offered quantity')}
              control={(props) => (
                <input {...props} name="offerQuantity" type="number" min="0" step="any" required defaultValue={product.offer?.quantity ?? product.stock} />
              )}
            />
            <AmountField
              label="Offer price"
              name="offerPrice"
              currency={currency}
              value={product.offer?.price ?? product.price}
              required
              error={messageFor(problem, 'Offer price')}
            />
          </>
        )}
      </fieldset>
      <FormAlert problem={problem} />
      <div className="actions">
        <button type="submit">Save</button>
        <button type="button" onClick={done}>
          Cancel
        </button>
        <button
          type="button"
          className="danger"
          onClick={() => node.removeProduct(product.id).then(done, (e: unknown) => setProblem({ message: errorText(e) }))}
        >
          Remove product
        </button>
      </div>
    </form>
  );
}

export function Catalog({ currency }: { currency: string }) {
  const [editing, setEditing] = useState<string | null>(null);
  const [details, setDetails] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const deferred = useDeferredValue(filter);
  const result = useNodeQuery((node) => node.products(deferred, SHOWN), [deferred]);
  return (
    <section aria-label="Catalog">
      <ExpiryAlerts />
      <AddProduct currency={currency} />
      <CatalogFile currency={currency} />
      <label className="search">
        Search your products
        <input type="search" value={filter} onChange={(e) => setFilter(e.currentTarget.value)} />
      </label>
      {result === undefined ? (
        <p>Loading your catalog…</p>
      ) : result.total === 0 ? (
        <p>{deferred ? 'No products match.' : 'No products yet. Add one above or import a CSV.'}</p>
      ) : (
        <table className="products">
          <caption>
            Your products ({result.total > SHOWN ? `first ${SHOWN} of ${result.total}` : result.total})
          </caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Stock</th>
              <th scope="col">Price</th>
              <th scope="col">Offered</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {result.products.map((product) =>
              editing === product.id ? (
                <tr key={product.id}>
                  <td colSpan={5}>
                    <ProductEditor product={product} currency={currency} done={() => setEditing(null)} />
                    <ProductFiles product={product} />
                  </td>
                </tr>
              ) : (
                [
                <tr key={product.id}>
                  <th scope="row">
                    <ProductThumbnail product={product} />
                    {product.name}
                    {product.sku && <small> {product.sku}</small>}
                  </th>
                  <td>
                    {product.stock} {product.unit}
                  </td>
                  <td>{money(product.price, currency)}</td>
                  <td>{product.offer ? `${Math.min(product.offer.quantity, product.stock)} offered at ${money(product.offer.price, currency)}` : 'not offered'}</td>
                  <td className="row-actions">
                    <StockMoveForm product={product} />
                    <button
                      type="button"
                      aria-expanded={details === product.id}
                      aria-label={`Batches and history of ${product.name}`}
                      onClick={() => setDetails(details === product.id ? null : product.id)}
                    >
                      Batches &amp; history
                    </button>
                    <button type="button" onClick={() => setEditing(product.id)} aria-label={`Edit ${product.name}`}>
                      Edit
                    </button>
                  </td>
                </tr>,
                details === product.id && (
                  <tr key={`${product.id}-details`}>
                    <td colSpan={5}>
                      <StockDetails product={product} currency={currency} />
                    </td>
                  </tr>
                ),
                ]
              ),
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
