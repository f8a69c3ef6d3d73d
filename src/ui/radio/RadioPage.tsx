import { useEffect, useState, type FormEvent } from 'react';
import { defaultMediumUrl, radioOwnerFor, radioSupport, rememberedRadio } from '../../browser/radio/radioOwner';
import type { RadioQueueEntry } from '../../browser/radio/radioHost';
import { RADIO_CLASSES, type RadioClass, type RadioStatus } from '../../core/radio/radioView';
import { bytes, clock, errorText } from '../format';
import { useNode } from '../nodeContext';
import './radio.css';

const CLASS_NAMES: Record<RadioClass, string> = { trade: 'Trade', stock: 'Stock and price', offer: 'Offers', catchUp: 'Catch-up' };
const STATE_NAMES: Record<RadioStatus['state'], string> = {
  off: 'Not connected',
  connecting: 'Connecting…',
  configuring: 'Reading the radio’s settings…',
  connected: 'Connected',
  unplugged: 'Radio unplugged',
  failed: 'Connection failed',
};
const CONNECTION_NAMES = { serial: 'USB', bluetooth: 'Bluetooth', simulated: 'simulated radio' } as const;

export function nodeNumber(num: number): string {
  return `!${(num >>> 0).toString(16).padStart(8, '0')}`;
}

function battery(level: number | null): string {
  if (level === null) return 'not reported';
  if (level > 100) return 'powered';
  return `${Math.round(level)}%`;
}

function minutes(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

/** Reads the radio's status (and queue) now and every second while the page is open. */
function useRadio() {
  const { node } = useNode();
  const [status, setStatus] = useState<RadioStatus>();
  const [queue, setQueue] = useState<RadioQueueEntry[]>([]);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    const read = async () => {
      try {
        const [s, q] = await Promise.all([node.radio.status(), node.radio.queue()]);
        if (current) {
          setStatus(s);
          setQueue(q);
        }
      } catch {
        // The node is restarting; the next read tells.
      }
    };
    void read();
    const timer = setInterval(() => void read(), 1000);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [node, tick]);
  return { status, queue, refresh: () => setTick((t) => t + 1), setStatus, setQueue };
}

export function RadioPage() {
  const { node } = useNode();
  const owner = radioOwnerFor(node);
  const support = radioSupport();
  const { status, queue, refresh, setStatus, setQueue } = useRadio();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [hint, setHint] = useState(owner.hint);
  const known = rememberedRadio();
  const [mediumUrl, setMediumUrl] = useState(known?.connection === 'simulated' && known.url ? known.url : defaultMediumUrl());
  useEffect(() => owner.subscribe(() => setHint(owner.hint)), [owner]);

  async function act(what: string, run: () => Promise<RadioStatus>) {
    setBusy(what);
    setError('');
    try {
      setStatus(await run());
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
      refresh();
    }
  }

  function connectSimulated(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void act('simulated', () => owner.connectSimulated(mediumUrl));
  }

  const state = status?.state ?? 'off';
  const live = state === 'connected' || state === 'configuring' || state === 'connecting';
  const device = status?.device ?? null;
  const budget = status?.budget;
  const usedShare = budget && budget.allowedMs ? Math.min(1, budget.usedMs / budget.allowedMs) : 0;

  return (
    <section className="radio" aria-labelledby="radio-heading">
      <h2 id="radio-heading">Radio</h2>
      <p className="hint">
        Trade over a Meshtastic LoRa radio where there is no internet: stock, prices and offers travel slowly over the radio
        mesh, a few hops to the merchants around you.
      </p>

      <div className="card" role="region" aria-label="Radio connection">
        <p role="status" className={`radio-state radio-${state}`}>
          <strong>{STATE_NAMES[state]}</strong>
          {status?.connection && live && <> — {CONNECTION_NAMES[status.connection]}</>}
          {status?.message && <span className="radio-message"> {status.message}</span>}
        </p>
        {hint && (
          <p className="hint" role="note">
            {hint}
          </p>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {busy && (
          <p role="status" aria-live="polite">
            <span className="progress-bar unknown" aria-hidden="true">
              <span />
            </span>
            Connecting the radio…
          </p>
        )}
        <div className="radio-buttons">
          <button type="button" disabled={!!support.serial || !!busy} aria-describedby={support.serial ? 'no-serial' : undefined} onClick={() => void act('serial', () => owner.connectSerial())}>
            Connect by USB
          </button>
          <button
            type="button"
            disabled={!!support.bluetooth || !!busy}
            aria-describedby={support.bluetooth ? 'no-bluetooth' : undefined}
            onClick={() => void act('bluetooth', () => owner.connectBluetooth())}
          >
            Connect by Bluetooth
          </button>
          {state !== 'off' && (
            <button type="button" disabled={!!busy} onClick={() => void act('disconnect', () => owner.disconnect())}>
              Disconnect radio
            </button>
          )}
        </div>
        {support.serial && (
          <p className="hint" id="no-serial">
            {support.serial}
          </p>
        )}
        {support.bluetooth && (
          <p className="hint" id="no-bluetooth">
            {support.bluetooth}
          </p>
        )}
        <form className="radio-simulated" onSubmit={connectSimulated} aria-label="Simulated radio">
          <label>
            Simulated radio medium
            <input type="text" inputMode="url" value={mediumUrl} onChange={(e) => setMediumUrl(e.target.value)} spellCheck={false} />
          </label>
          <button type="submit" disabled={!!busy}>
            Connect simulated radio
          </button>
          <small className="hint">No radio at hand? Every browser profile that connects to the same medium hears the others, as over LoRa.</small>
        </form>
      </div>

      {device && (
        <div className="card" role="region" aria-label="Radio device">
          <h3>Device</h3>
          <dl className="radio-facts">
            <dt>Name</dt>
            <dd>
              {device.longName} ({device.shortName})
            </dd>
            <dt>Node number</dt>
            <dd>{nodeNumber(device.nodeNum)}</dd>
            <dt>Firmware</dt>
            <dd>
              {device.firmware || 'unknown'}
              {device.hardware && `, ${device.hardware}`}
            </dd>
            <dt>Channel</dt>
            <dd>{device.channel || 'default (the preset’s name)'}</dd>
            <dt>Preset</dt>
            <dd>{device.preset}</dd>
            <dt>Region</dt>
            <dd>{device.region}</dd>
            <dt>Battery</dt>
            <dd>{battery(device.batteryLevel)}</dd>
          </dl>
        </div>
      )}

      {status && status.neighbours.length > 0 && (
        <table className="products radio-neighbours">
          <caption>Radios it hears</caption>
          <thead>
            <tr>
              <th scope="col">Radio</th>
              <th scope="col">Node number</th>
              <th scope="col">Signal (SNR)</th>
              <th scope="col">Hops</th>
              <th scope="col">Last heard</th>
            </tr>
          </thead>
          <tbody>
            {status.neighbours.map((n) => (
              <tr key={n.nodeNum}>
                <td>{n.name || 'unnamed'}</td>
                <td>{nodeNumber(n.nodeNum)}</td>
                <td>{n.snr === null ? 'unknown' : `${n.snr.toFixed(1)} dB`}</td>
                <td>{n.hopsAway === null ? 'unknown' : n.hopsAway === 0 ? 'direct' : n.hopsAway}</td>
                <td>{clock(n.lastHeard)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {status && live && status.neighbours.length === 0 && <p className="hint">No other radio heard yet.</p>}

      {status && budget && (
        <div className="card" role="region" aria-label="Radio budget">
          <h3>Airtime</h3>
          {budget.allowedMs === null ? (
            <p>
              Used {minutes(budget.usedMs)} of airtime in the last hour; this region sets no duty-cycle limit.
            </p>
          ) : (
            <>
              <label htmlFor="airtime-used">
                Airtime used in the last hour: {minutes(budget.usedMs)} of {minutes(budget.allowedMs)} ({budget.dutyCyclePercent}% duty cycle)
              </label>
              <progress id="airtime-used" max={1} value={usedShare} />
            </>
          )}
          {budget.channelUtilization !== null && <p>Channel busy: {budget.channelUtilization.toFixed(1)}% (the radio holds back above 40%).</p>}
          <p role="status" aria-label="Radio counters">
            Sent {status.sent}, received {status.received}, taken {status.taken}
          </p>
          <label className="toggle">
            <input type="checkbox" checked={status.paused} onChange={(e) => void act('pause', () => node.radio.pause(e.target.checked))} /> Pause radio sync
          </label>
          {status.paused && <p className="hint">Paused: nothing is sent; what the radio hears is still taken.</p>}
        </div>
      )}

      {status && budget && (
        <div className="card" role="region" aria-label="Radio queue">
          <h3>Waiting to go</h3>
          <ul className="radio-classes" aria-label="Queue by class">
            {RADIO_CLASSES.map((c) => (
              <li key={c}>
                {CLASS_NAMES[c]}: {budget.queued[c] ?? 0}
              </li>
            ))}
          </ul>
          {budget.waiting && (
            <p role="status">
              Waiting: {budget.waiting}
              {budget.nextSendAt !== null && <>; next at {clock(budget.nextSendAt)}</>}.
            </p>
          )}
          {queue.length === 0 ? (
            <p className="hint">Nothing waits.</p>
          ) : (
            <ul aria-label="Waiting updates" className="radio-queue">
              {queue.map((entry) => (
                <li key={entry.id}>
                  <span>
                    {entry.label} — {CLASS_NAMES[entry.class] ?? entry.class}, {bytes(entry.bytes)}
                    {entry.urgent && <strong> urgent</strong>}
                  </span>
                  {!entry.urgent && (
                    <button type="button" aria-label={`Mark urgent: ${entry.label}`} onClick={() => void node.radio.markUrgent(entry.id).then(setQueue)}>
                      Mark urgent
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          <p className="hint">{bytes(budget.queuedBytes)} waiting in all.</p>
        </div>
      )}

      {status && (
        <div className="card" role="region" aria-label="Radio refusals">
          <h3>Refused</h3>
          {status.refusals.length === 0 ? (
            <p className="hint">Nothing heard on the radio was refused.</p>
          ) : (
            <ul aria-label="Refusals">
              {status.refusals.map((r, i) => (
                <li key={`${r.at}-${i}`}>
                  {clock(r.at)}: {r.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
