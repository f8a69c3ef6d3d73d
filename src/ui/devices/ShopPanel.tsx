import { useState } from 'react';
import { useNode } from '../nodeContext';
import { BackupPanel } from './BackupPanel';
import { DevicesPanel } from './DevicesPanel';
import { JoinShop } from './JoinShop';
import { RestoreShop } from './RestoreShop';

/** The "Shop" view: the shop's devices and its backup. */
export function ShopPanel() {
  const { view } = useNode();
  if (!view.shop) return <p>Create your shop, join one from another device, or restore one from a backup (above).</p>;
  return (
    <section aria-label="Shop devices and backup">
      <DevicesPanel shop={view.shop} />
      <BackupPanel shop={view.shop} />
    </section>
  );
}

type Start = 'join' | 'restore' | null;

/**
 * Beside "Create your shop" on a device with no shop: "Join a shop" (the shop is on another
 * device) and "Restore from a backup". Each opens its form on demand.
 */
export function OtherWaysIn() {
  const [open, setOpen] = useState<Start>(null);
  const toggle = (which: Exclude<Start, null>) => setOpen((current) => (current === which ? null : which));
  return (
    <>
      <div className="pairing-actions" role="group" aria-label="Other ways to start" style={{ justifyContent: 'flex-start', margin: '0 0 1rem' }}>
        <button type="button" aria-expanded={open === 'join'} onClick={() => toggle('join')}>
          Join a shop
        </button>
        <button type="button" aria-expanded={open === 'restore'} onClick={() => toggle('restore')}>
          Restore from a backup
        </button>
      </div>
      {open === 'join' && <JoinShop />}
      {open === 'restore' && <RestoreShop />}
    </>
  );
}
