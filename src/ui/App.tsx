import { useState } from 'react';
import { Catalog } from './Catalog';
import { CreateShop } from './CreateShop';
import { Marketplace } from './Marketplace';
import { Network } from './Network';
import { useNode } from './nodeContext';
import { fingerprintOf, ShopKey } from './ShopMarks';
import { SyncStatus } from './SyncStatus';
import { UpdatePrompt } from './UpdatePrompt';

const VIEWS = ['Catalog', 'Marketplace', 'Network'] as const;
type ViewName = (typeof VIEWS)[number];

export function App() {
  const { view } = useNode();
  const [current, setCurrent] = useState<ViewName>('Marketplace');
  return (
    <>
      <header>
        <h1>
          Souk{view.shop && <span className="shop-name"> · {view.shop.name}</span>}
        </h1>
        {view.shop && (
          <p className="own-key">
            <ShopKey label="Your shop key" fingerprint={fingerprintOf(view.shop.fingerprint, view.shop.vaultId)} />
          </p>
        )}
        <SyncStatus />
      </header>
      <UpdatePrompt />
      <main>
        {!view.shop && <CreateShop />}
        <nav aria-label="Views">
          {VIEWS.map((name) => (
            <button key={name} type="button" aria-current={current === name ? 'page' : undefined} onClick={() => setCurrent(name)}>
              {name}
            </button>
          ))}
        </nav>
        {current === 'Catalog' &&
          (view.shop ? <Catalog currency={view.shop.currency} /> : <p>Create your shop to keep a catalog.</p>)}
        {current === 'Marketplace' && <Marketplace />}
        {current === 'Network' && <Network />}
      </main>
    </>
  );
}
