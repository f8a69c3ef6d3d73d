import { useEffect, useId, useRef, useState } from 'react';
import type { DeviceView, ShopView } from '../../core/node/nodeView';
import { isPairingCode, parsePairingCode } from '../../core/pairing/pairingCode';
import { errorText } from '../format';
import { useNode, useNodeQuery } from '../nodeContext';
import { PairingQr } from '../pairing/PairingQr';
import { finite, list, text } from '../safe';

/**
 * The shop's devices: who they are, when each was last heard from, and (on the root device)
 * "Add a device" with the pairing QR code and "Revoke" for a lost or sold one.
 */
export function DevicesPanel({ shop }: { shop: ShopView }) {
  const { node } = useNode();
  const devices = list<DeviceView>(useNodeQuery((n) => n.devices(), []));
  const [problem, setProblem] = useState('');
  const [revoking, setRevoking] = useState<DeviceView | null>(null);
  const headingId = useId();
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Devices</h2>
      <p className="hint">
        Every device of this shop keeps the whole catalog and can sell and edit, even while apart; their changes merge when
        they meet.
      </p>
      <ul aria-label="Devices of this shop" style={{ listStyle: 'none', padding: 0, margin: '0 0 1rem', display: 'grid', gap: '0.5rem' }}>
        {devices.map((device) => (
          <DeviceRow
            key={text(device.publicKey)}
            device={device}
            canRevoke={shop.rootDevice && !device.thisDevice && device.revokedAt === null}
            onRevoke={() => setRevoking(device)}
          />
        ))}
      </ul>
      {problem && <p role="alert">{problem}</p>}
      {shop.rootDevice ? (
        <AddDevice />
      ) : (
        <p className="hint">
          Devices are added and revoked on the shop’s first device (the one that created the shop or restored it from a
          backup): it holds the shop’s root key.
        </p>
      )}
      {revoking && (
        <RevokeDialog
          device={revoking}
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            setProblem('');
            try {
              await node.revokeDevice(text(revoking.publicKey));
            } catch (error) {
              setProblem(errorText(error));
            } finally {
              setRevoking(null);
            }
          }}
        />
      )}
    </section>
  );
}

function when(time: number): string {
  return new Date(time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function lastSeen(device: DeviceView): string {
  if (device.thisDevice) return 'This device';
  if (device.linked) return 'Connected now';
  const at = device.lastSeenAt === null ? null : finite(device.lastSeenAt, NaN);
  return at === null || Number.isNaN(at) ? 'Not seen since Souk started here' : `Last seen ${when(at)}`;
}

function DeviceRow({ device, canRevoke, onRevoke }: { device: DeviceView; canRevoke: boolean; onRevoke(): void }) {
  const name = text(device.name) || 'Unnamed device';
  const revoked = device.revokedAt !== null;
  return (
    <li
      aria-label={name}
      style={{ border: '1px solid var(--line)', borderRadius: '0.4rem', padding: '0.5rem 0.75rem', display: 'flex', flexWrap: 'wrap', gap: '0.25rem 1rem', alignItems: 'center', justifyContent: 'space-between' }}
    >
      <div style={{ minWidth: 0, flex: '1 1 14rem' }}>
        <strong style={{ overflowWrap: 'anywhere' }}>{name}</strong>
        {device.thisDevice && <span className="badge own">This device</span>}
        {revoked && <span className="badge" style={{ background: '#fef2f2', color: 'var(--warn)', border: '1px solid var(--warn)' }}>Revoked</span>}
        <span className="vault-facts">
          Added {when(finite(device.addedAt))} · {revoked ? `Revoked ${when(finite(device.revokedAt))}` : lastSeen(device)}
        </span>
      </div>
      {canRevoke && (
        <button type="button" className="danger small" aria-label={`Revoke ${name}`} onClick={onRevoke}>
          Revoke
        </button>
      )}
    </li>
  );
}

/** Asks before revoking, and says what stays and what is refused. */
function RevokeDialog({ device, onClose, onConfirm }: { device: DeviceView; onClose(): void; onConfirm(): Promise<void> }) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();
  const [busy, setBusy] = useState(false);
  const name = text(device.name) || 'Unnamed device';
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={headingId} onCancel={onClose} style={{ maxWidth: 'min(32rem, 92vw)', borderRadius: '0.5rem', border: '1px solid var(--line)' }}>
      <h2 id={headingId}>Revoke {name}?</h2>
      <p>
        <strong>What stays:</strong> everything {name} did that this device already has — its sales, stock counts and
        edits — stays in the shop.
      </p>
      <p>
        <strong>What is refused:</strong> anything {name} signs from now on, and edits it made that have not reached this
        device yet. Your other devices and every other shop refuse them, and {name} can no longer sync your private
        catalog.
      </p>
      <p className="hint">This cannot be undone. To use that device for the shop again, clear Souk’s data on it and add it as a new device.</p>
      <div className="pairing-actions">
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void onConfirm();
          }}
        >
          {busy ? 'Revoking…' : `Revoke ${name}`}
        </button>
        <button type="button" onClick={onClose} disabled={busy}>
          Keep it
        </button>
      </div>
    </dialog>
  );
}

/** "Add a device": a pairing code as a QR code and as text, and how the pairing goes. */
function AddDevice() {
  const { node, view } = useNode();
  const [problem, setProblem] = useState('');
  const [starting, setStarting] = useState(false);
  const pairing = view.pairing?.role === 'adding' ? view.pairing : null;
  const code = pairing?.code ? parsePairingCode(text(pairing.code)) : null;

  async function start() {
    setProblem('');
    setStarting(true);
    try {
      await node.startPairing();
    } catch (error) {
      setProblem(errorText(error));
    } finally {
      setStarting(false);
    }
  }
  const cancel = () => void node.cancelPairing().catch((error: unknown) => setProblem(errorText(error)));

  return (
    <div>
      {pairing && pairing.state === 'waiting' && code && isPairingCode(code) ? (
        <PairingQr code={code} expiresAt={finite(pairing.expiresAt)} onCancel={cancel} />
      ) : pairing ? (
        <div className="pairing-actions" style={{ justifyContent: 'flex-start' }}>
          <button type="button" onClick={cancel}>
            {pairing.state === 'done' ? 'Done' : 'Close'}
          </button>
          <button type="button" onClick={() => void start()} disabled={starting}>
            Add another device
          </button>
        </div>
      ) : (
        <button type="button" onClick={() => void start()} disabled={starting}>
          Add a device
        </button>
      )}
      <p role="status" aria-label="Adding a device" className={pairing?.state === 'failed' ? 'warn-text' : undefined}>
        {pairing ? text(pairing.message) : starting ? 'Making a pairing code…' : ''}
      </p>
      {problem && <p role="alert">{problem}</p>}
    </div>
  );
}
