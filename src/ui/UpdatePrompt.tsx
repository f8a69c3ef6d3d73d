import { useEffect, useState } from 'react';
import { registerSW } from 'virtual:pwa-register';

/** Installs the service worker (offline use) and asks before switching to a new version. */
export function UpdatePrompt() {
  const [update, setUpdate] = useState<((reload?: boolean) => Promise<void>) | null>(null);
  const [offlineReady, setOfflineReady] = useState(false);
  useEffect(() => {
    if (!('serviceWorker' in navigator)) return;
    const updateSW = registerSW({
      onNeedRefresh: () => setUpdate(() => updateSW),
      onOfflineReady: () => setOfflineReady(true),
    });
  }, []);
  if (update) {
    return (
      <div className="banner" role="alertdialog" aria-label="Update available">
        A new version of Souk is ready.
        <button type="button" onClick={() => void update(true)}>
          Reload to update
        </button>
        <button type="button" onClick={() => setUpdate(null)}>
          Later
        </button>
      </div>
    );
  }
  if (offlineReady) {
    return (
      <div className="banner" role="status">
        Souk now works offline on this device.
        <button type="button" onClick={() => setOfflineReady(false)}>
          OK
        </button>
      </div>
    );
  }
  return null;
}
