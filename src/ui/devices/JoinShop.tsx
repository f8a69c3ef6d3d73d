import { useEffect, useId, useRef, useState } from 'react';
import type { PairingCode } from '../../core/pairing/pairingCode';
import { errorText } from '../format';
import { useNode } from '../nodeContext';
import { CodeScanner } from '../pairing/CodeScanner';
import { PairingCodeInput } from '../pairing/PairingCodeInput';
import { text } from '../safe';

/** After this long with no answer the merchant is told what to check (joining goes on until the code expires). */
const SLOW_JOIN_MS = 30_000;

/**
 * "Join a shop", on a device with no shop yet: a name for this device, then the pairing code shown
 * by "Add a device" on the shop's first device, scanned with the camera or typed.
 */
export function JoinShop() {
  const { node, view } = useNode();
  const nameId = useId();
  const headingId = useId();
  const [deviceName, setDeviceName] = useState('');
  const [joining, setJoining] = useState(false);
  const [slow, setSlow] = useState(false);
  const [problem, setProblem] = useState('');
  const attempt = useRef(0);

  useEffect(() => {
    if (!joining) return;
    setSlow(false);
    const timer = setTimeout(() => setSlow(true), SLOW_JOIN_MS);
    return () => clearTimeout(timer);
  }, [joining]);

  async function join(code: PairingCode) {
    const mine = ++attempt.current;
    setProblem('');
    setJoining(true);
    try {
      await node.joinShop(code.text, deviceName.trim() || defaultDeviceName());
    } catch (error) {
      if (attempt.current === mine) setProblem(errorText(error));
    } finally {
      if (attempt.current === mine) setJoining(false);
    }
  }

  const progress = view.pairing?.role === 'joining' && joining ? text(view.pairing.message) : '';
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Join a shop</h2>
      <p>
        Your shop is already on another device? On that device open <strong>Shop</strong>, choose{' '}
        <strong>Add a device</strong>, then scan its QR code here or type the code below it. Both devices need to be online.
      </p>
      <div className="field">
        <label htmlFor={nameId}>Name for this device</label>
        <input
          id={nameId}
          value={deviceName}
          onChange={(event) => setDeviceName(event.currentTarget.value)}
          placeholder={defaultDeviceName()}
          maxLength={60}
          readOnly={joining}
          autoComplete="off"
        />
        <small className="hint">So you can tell your devices apart in the shop’s device list.</small>
      </div>
      <CodeScanner onCode={(code) => void (joining || join(code))} />
      <PairingCodeInput onCode={(code) => void join(code)} busy={joining} />
      <p role="status" aria-label="Joining progress">
        {joining ? `Joining… ${progress}` : ''}
      </p>
      {joining && slow && (
        <p className="hint">
          No device has answered yet. Check that the code matches the one on your other device, that it still shows the
          code, and that both devices are online.
        </p>
      )}
      {joining && (
        <button
          type="button"
          onClick={() => {
            attempt.current++;
            setJoining(false);
            void node.cancelPairing();
          }}
        >
          Stop joining
        </button>
      )}
      {problem && <p role="alert">Could not join: {problem}</p>}
    </section>
  );
}

function defaultDeviceName(): string {
  const agent = globalThis.navigator?.userAgent ?? '';
  if (/iPad|Tablet/i.test(agent)) return 'Tablet';
  if (/Android|iPhone|Mobile/i.test(agent)) return 'Phone';
  return 'Computer';
}
