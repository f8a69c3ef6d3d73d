import { useState } from 'react';
import { Catalog } from './Catalog';
import { Counter } from './Counter';
import { CreateShop } from './CreateShop';
import { DeliveriesPage } from './deliveries/DeliveriesPage';
import { BackupReminder } from './devices/BackupReminder';
import { OtherWaysIn, ShopPanel } from './devices/ShopPanel';
import { Marketplace } from './Marketplace';
import { Network } from './Network';
import { RadioPage } from './radio/RadioPage';
import { useRadioResume } from './radio/useRadioResume';
import { Storage } from './Storage';
import { Reservations } from './trade/Reservations';
import { TrailPage } from './trail/TrailPage';
import { useNode } from './nodeContext';
import { fingerprintOf, ShopKey } from './ShopMarks';
import { SyncStatus } from './SyncStatus';
import { UpdatePrompt } from './UpdatePrompt';

const VIEWS = ['Catalog', 'Counter', 'Marketplace', 'Reservations', 'Deliveries', 'Shop', 'Network', 'Radio', 'Storage', 'Trail'] as const;
type ViewName = (typeof VIEWS)[number];
/** What each role needs, first page first: a driver has no catalog; every role keeps Shop, Network, Radio and Storage. */
const ROLE_VIEWS: Record<'shop' | 'supplier' | 'driver', readonly ViewName[]> = {
  shop: VIEWS,
  supplier: VIEWS,
  driver: ['Deliveries', 'Marketplace', 'Shop', 'Network', 'Radio', 'Storage', 'Trail'],
};

export function App() {
  const { view } = useNode();
  const [chosen, setCurrent] = useState<ViewName | null>(null);
  const views = ROLE_VIEWS[view.shop?.role ?? 'shop'] ?? VIEWS;
  const current: ViewName = chosen && views.includes(chosen) ? chosen : view.shop?.role === 'driver' ? 'Deliveries' : 'Marketplace';
  const [reminderLater, setReminderLater] = useState(false);
  useRadioResume();
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
      {view.shopProblem && (
        <p className="card" role="alert">
          {view.shopProblem}
        </p>
      )}
      {view.shop?.revokedAt != null && (
        <p className="card" role="alert">
          This device was removed from the shop on {new Date(view.shop.revokedAt).toLocaleDateString()}. Its changes are no longer accepted by anyone; use
          another device of the shop.
        </p>
      )}
      {view.shop && !reminderLater && (
        <BackupReminder shop={view.shop} onBackUp={() => setCurrent('Shop')} onLater={() => setReminderLater(true)} />
      )}
      <main>
        {!view.shop && (
          <>
            <CreateShop />
            <OtherWaysIn />
          </>
        )}
        <nav aria-label="Views" style={{ flexWrap: 'wrap' }}>
          {views.map((name) => (
            <button key={name} type="button" aria-current={current === name ? 'page' : undefined} onClick={() => setCurrent(name)}>
              {name}
            </button>
          ))}
        </nav>
        {current === 'Catalog' &&
          (view.shop ? <Catalog currency={view.shop.currency} /> : <p>Create your shop to keep a catalog.</p>)}
        {current === 'Counter' &&
          (view.shop ? <Counter currency={view.shop.currency} /> : <p>Create your shop to sell at the counter.</p>)}
        {current === 'Marketplace' && <Marketplace />}
        {current === 'Reservations' && (view.shop ? <Reservations /> : <p>Create your shop to reserve and sell.</p>)}
        {current === 'Deliveries' && (view.shop ? <DeliveriesPage /> : <p>Create your shop to deliver or ask for deliveries.</p>)}
        {current === 'Shop' && <ShopPanel />}
        {current === 'Network' && <Network />}
        {current === 'Radio' && <RadioPage />}
        {current === 'Storage' && <Storage />}
        {current === 'Trail' && <TrailPage />}
      </main>
    </>
  );
}
