import { useDeferredValue, useState } from 'react';
import type { MarketOffer } from '../core/node/nodeView';
import { OfferFiles } from './files/OfferFiles';
import { ReserveForm } from './trade/ReserveForm';
import { useNode, useNodeQuery } from './nodeContext';
import { clock, money } from './format';
import { SafeItem } from './SafeItem';
import { finite, list, shopName, text } from './safe';
import { fingerprintOf, LookAlikeWarning, ShopBadges, ShopKey, TrustButton } from './ShopMarks';

/** One offer. Every field is read as unchecked: a bad offer shows blanks or falls to its error boundary. */
function OfferCard({ offer, ownShopId }: { offer: MarketOffer; ownShopId: string | undefined }) {
  const name = text(offer.name) || 'Unnamed product';
  const seller = shopName(offer.seller);
  const vaultId = text(offer.vaultId);
  const fingerprint = fingerprintOf(offer.fingerprint, vaultId);
  const own = offer.own === true;
  const trusted = offer.trusted === true;
  const lookAlikeOf = text(offer.lookAlikeOf);
  const unit = text(offer.unit) || 'each';
  const quantity = finite(offer.quantity);
  const currency = text(offer.currency);
  const sku = text(offer.sku);
  const area = text(offer.area);
  const expiresOn = text(offer.expiresOn);
  return (
    <li
      className={lookAlikeOf ? 'look-alike-card' : trusted ? 'trusted-card' : undefined}
      aria-label={`${name} from ${seller}, shop key ${fingerprint}`}
    >
      <strong>{name}</strong>
      {sku && <small> {sku}</small>}
      <span className="price">
        {money(finite(offer.price), currency)} / {unit}
      </span>
      <span>{quantity > 0 ? `${quantity} ${unit} available` : 'sold out'}</span>
      <span>
        {seller}
        {own && ' (you)'}
        {area && ` · ${area}`}
      </span>
      <span className="shop-line">
        <ShopKey fingerprint={fingerprint} /> <ShopBadges own={own} trusted={trusted} />
      </span>
      {lookAlikeOf && <LookAlikeWarning original={lookAlikeOf} ownShopId={ownShopId} />}
      {expiresOn && <span>best before {expiresOn}</span>}
      <OfferFiles vaultId={vaultId} productId={text(offer.productId)} productName={name} own={own} />
      <small className={offer.viaRadio === true ? 'via-radio' : undefined}>
        {offer.viaRadio === true ? 'via radio, as of ' : 'as of '}
        {clock(finite(offer.asOf))}
      </small>
      {!own && vaultId && <TrustButton vaultId={vaultId} name={seller} fingerprint={fingerprint} trusted={trusted} />}
      {!own && vaultId && <ReserveForm vaultId={vaultId} productId={text(offer.productId)} productName={name} unit={unit} available={quantity} />}
    </li>
  );
}

export function Marketplace() {
  const { view } = useNode();
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const market = useNodeQuery((node) => node.marketplace(deferred, 200), [deferred]);
  const offers = list<MarketOffer>(market?.offers);
  const total = finite(market?.total, offers.length);
  const loading = finite(market?.loadingVaults);
  return (
    <section aria-label="Marketplace">
      <label className="search">
        Search offers
        <input type="search" value={query} onChange={(e) => setQuery(e.currentTarget.value)} placeholder="Product, SKU, shop or area" />
      </label>
      {loading > 0 && (
        <p role="status" className="hint">
          Loading {loading} {loading === 1 ? 'shop' : 'shops'}…
        </p>
      )}
      {market === undefined ? (
        <p>Loading offers…</p>
      ) : total === 0 ? (
        loading > 0 ? null : <p>{query ? 'No offers match.' : 'No offers yet. Offers from shops on your network appear here as they arrive.'}</p>
      ) : (
        <ul className="offers" aria-label="Offers">
          {offers.map((offer, i) => {
            // Only the key is read out here; everything else is read inside the boundary.
            const key = (offer && typeof offer === 'object' && text(offer.vaultId) && `${text(offer.vaultId)}:${text(offer.productId)}`) || `#${i}`;
            return (
              <SafeItem key={key} resetKey={offer} fallback={<li className="broken">This offer could not be shown.</li>}>
                <OfferCard offer={offer} ownShopId={view.shop?.vaultId} />
              </SafeItem>
            );
          })}
          {total > offers.length && <li>…and {total - offers.length} more: narrow the search.</li>}
        </ul>
      )}
    </section>
  );
}
