import { useDeferredValue, useState } from 'react';
import { useNodeQuery } from './nodeContext';
import { clock, money } from './format';

export function Marketplace() {
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const market = useNodeQuery((node) => node.marketplace(deferred, 200), [deferred]);
  return (
    <section aria-label="Marketplace">
      <label className="search">
        Search offers
        <input type="search" value={query} onChange={(e) => setQuery(e.currentTarget.value)} placeholder="Product, SKU, shop or area" />
      </label>
      {market === undefined ? (
        <p>Loading offers…</p>
      ) : market.total === 0 ? (
        <p>{query ? 'No offers match.' : 'No offers yet. Offers from shops on your network appear here as they arrive.'}</p>
      ) : (
        <ul className="offers" aria-label="Offers">
          {market.offers.map((offer) => (
            <li key={`${offer.vaultId}:${offer.productId}`} aria-label={`${offer.name} from ${offer.seller}`}>
              <strong>{offer.name}</strong>
              {offer.sku && <small> {offer.sku}</small>}
              <span className="price">
                {money(offer.price, offer.currency)} / {offer.unit}
              </span>
              <span>{offer.quantity > 0 ? `${offer.quantity} ${offer.unit} available` : 'sold out'}</span>
              <span>
                {offer.seller}
                {offer.own && ' (you)'} · {offer.area}
              </span>
              {offer.expiresOn && <span>best before {offer.expiresOn}</span>}
              <small>as of {clock(offer.updatedAt)}</small>
            </li>
          ))}
          {market.total > market.offers.length && <li>…and {market.total - market.offers.length} more: narrow the search.</li>}
        </ul>
      )}
    </section>
  );
}
