import { useState, type FormEvent } from 'react';
import type { PeerView, VaultView } from '../core/node/nodeView';
import { useNode } from './nodeContext';
import { bytes, clock, errorText } from './format';
import { SafeItem } from './SafeItem';
import { finite, list, shopName, text } from './safe';
import { ShopProfile } from './ShopProfile';
import { fingerprintOf, LookAlikeWarning, ShopBadges, ShopKey, TrustButton } from './ShopMarks';

/**
 * A peer as proven: its node id always, its shop's name only from the shop's own signed vault
 * (never a name the peer merely claims).
 */
function PeerRow({ peer, vaults }: { peer: PeerView; vaults: Map<string, VaultView> }) {
  const nodeId = text(peer.nodeId);
  const shopId = text(peer.shopVaultId);
  const name = text(peer.name).trim();
  const vault = shopId ? vaults.get(shopId) : undefined;
  const fingerprint = shopId ? fingerprintOf(peer.fingerprint, shopId) : '';
  const lookAlikeOf = text(vault?.lookAlikeOf);
  return (
    <li className={lookAlikeOf ? 'look-alike-row' : undefined}>
      <strong>{!shopId ? `node ${nodeId.slice(0, 8)} (no shop)` : name || 'shop not received yet'}</strong>
      {shopId && (
        <>
          {' '}
          <ShopKey fingerprint={fingerprint} /> <ShopBadges own={false} trusted={peer.trusted === true} />
        </>
      )}{' '}
      — {text(peer.linkLabel)}, connected {clock(finite(peer.connectedAt))}, last heard {clock(finite(peer.lastHeardAt))}, ↓{' '}
      {bytes(finite(peer.bytesIn))} ↑ {bytes(finite(peer.bytesOut))}
      {lookAlikeOf && (
        <span className="warn-text">
          {' '}
          — uses the name of a shop you know (key <code>{fingerprintOf(undefined, lookAlikeOf)}</code>): check the key
        </span>
      )}
    </li>
  );
}

function VaultRow({ vault, ownShopId }: { vault: VaultView; ownShopId: string | undefined }) {
  const vaultId = text(vault.vaultId);
  const name = shopName(vault.name);
  const fingerprint = fingerprintOf(vault.fingerprint, vaultId);
  const own = vault.own === true;
  const trusted = vault.trusted === true;
  const lookAlikeOf = text(vault.lookAlikeOf);
  const area = text(vault.area);
  return (
    <li className={lookAlikeOf ? 'look-alike-row' : undefined} aria-label={`${name}, shop key ${fingerprint}`}>
      <strong>{name}</strong> <ShopKey fingerprint={fingerprint} /> <ShopBadges own={own} trusted={trusted} />
      <span className="vault-facts">
        {area && `${area}, `}
        {finite(vault.offers)} offers, version {finite(vault.counter)}, as of {clock(finite(vault.asOf))}
      </span>
      {lookAlikeOf && <LookAlikeWarning original={lookAlikeOf} ownShopId={ownShopId} />}
      {!own && vaultId && <TrustButton vaultId={vaultId} name={name} fingerprint={fingerprint} trusted={trusted} />}
    </li>
  );
}

export function Network() {
  const { node, view, links } = useNode();
  const [error, setError] = useState('');
  const [saved, setSaved] = useState('');
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError('');
    setSaved('');
    try {
      await node.updateSettings({ networkName: String(form.get('networkName')), maxConnections: Number(form.get('maxConnections')) });
      setSaved('Saved.');
    } catch (e) {
      setError(errorText(e));
    }
  }
  const vaults = list<VaultView>(view.vaults);
  const byId = new Map(vaults.filter((v) => v && typeof v === 'object').map((v) => [text(v.vaultId), v] as const));
  const peers = list<PeerView>(view.peers);
  return (
    <section aria-label="Network">
      {view.shop && <ShopProfile shop={view.shop} />}
      <form className="card" aria-label="Network settings" onSubmit={submit} key={`${view.settings.networkName}:${view.settings.maxConnections}`}>
        <label>
          Network name
          <input name="networkName" required defaultValue={view.settings.networkName} />
        </label>
        <label>
          Maximum connections
          <input name="maxConnections" type="number" min={1} max={32} required defaultValue={view.settings.maxConnections} />
        </label>
        {error && <p role="alert">{error}</p>}
        {saved && <p role="status">{saved}</p>}
        <button type="submit">Save network settings</button>
        <p className="hint">
          {links.leader ? `This tab runs the links: signaling ${links.signaling}${links.detail ? ` (${links.detail})` : ''}, ${links.present} other node(s) on the network.` : 'Another tab of Souk runs the links.'}{' '}
          Received {bytes(view.traffic.bytesIn)}, sent {bytes(view.traffic.bytesOut)}.
        </p>
      </form>

      <h2>Connected peers</h2>
      {peers.length === 0 ? (
        <p>No peers connected.</p>
      ) : (
        <ul aria-label="Connected peers" className="rows">
          {peers.map((peer, i) => (
            <SafeItem
              key={peer && typeof peer === 'object' ? `${text(peer.nodeId)}${text(peer.linkLabel)}` : `#${i}`}
              resetKey={peer}
              fallback={<li className="broken">This peer could not be shown.</li>}
            >
              <PeerRow peer={peer} vaults={byId} />
            </SafeItem>
          ))}
        </ul>
      )}

      <h2>Vaults on this device</h2>
      <p className="hint">Every shop this device carries. Mark the shops you know as trusted; a new shop that takes their name is flagged.</p>
      <ul aria-label="Vaults" className="rows">
        {vaults.map((vault, i) => (
          <SafeItem
            key={(vault && typeof vault === 'object' && text(vault.vaultId)) || `#${i}`}
            resetKey={vault}
            fallback={<li className="broken">This shop could not be shown.</li>}
          >
            <VaultRow vault={vault} ownShopId={view.shop?.vaultId} />
          </SafeItem>
        ))}
      </ul>

      {view.refusals.length > 0 && (
        <>
          <h2>Refused from peers</h2>
          <ul aria-label="Refusals">
            {view.refusals.map((refusal, i) => (
              <li key={i}>
                {clock(finite(refusal.at))} {text(refusal.peer)}: {text(refusal.reason)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
