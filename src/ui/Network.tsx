import { useState, type FormEvent } from 'react';
import { useNode } from './nodeContext';
import { bytes, clock, errorText } from './format';

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
  return (
    <section aria-label="Network">
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
      {view.peers.length === 0 ? (
        <p>No peers connected.</p>
      ) : (
        <ul aria-label="Connected peers">
          {view.peers.map((peer) => (
            <li key={peer.nodeId + peer.linkLabel}>
              <strong>{peer.name || 'A node without a shop'}</strong> — {peer.linkLabel}, connected {clock(peer.connectedAt)}, last heard {clock(peer.lastHeardAt)}, ↓{' '}
              {bytes(peer.bytesIn)} ↑ {bytes(peer.bytesOut)}
            </li>
          ))}
        </ul>
      )}

      <h2>Vaults on this device</h2>
      <ul aria-label="Vaults">
        {view.vaults.map((vault) => (
          <li key={vault.vaultId}>
            <strong>{vault.name}</strong>
            {vault.own ? ' (your shop)' : ''} — {vault.area}, {vault.offers} offers, version {vault.counter}, as of {clock(vault.asOf)}
          </li>
        ))}
      </ul>

      {view.refusals.length > 0 && (
        <>
          <h2>Refused from peers</h2>
          <ul aria-label="Refusals">
            {view.refusals.map((refusal, i) => (
              <li key={i}>
                {clock(refusal.at)} {refusal.peer}: {refusal.reason}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
