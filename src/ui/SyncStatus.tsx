import { useNode } from './nodeContext';
import { clock } from './format';

/** "Stock as of 10:42 · 3 peers · online": what this node knows and how fresh it is. */
export function SyncStatus() {
  const { view, links } = useNode();
  const peers = view.peers.length;
  const newest = Math.max(0, ...view.vaults.filter((v) => !v.own).map((v) => v.asOf));
  const state = !links.leader ? 'links run in another tab' : links.signaling === 'online' ? 'online' : links.signaling === 'connecting' ? 'connecting…' : 'offline';
  return (
    <p className="sync-status" role="status" aria-label="Sync status">
      <span>
        {peers} {peers === 1 ? 'peer' : 'peers'}
      </span>
      <span>{newest ? `offers as of ${clock(newest)}` : 'no offers from others yet'}</span>
      <span>
        network {view.settings.networkName}: {state}
      </span>
    </p>
  );
}
