import { downloadFile } from '../downloadFile';
import { useEffect, useId, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import type { TrailEntryView, TrailVerdict } from '../../core/trade/auditTrail';
import type { EventRef } from '../../core/trade/tradeEvent';
import { errorText } from '../format';
import { useNode, useNodeQuery } from '../nodeContext';
import { finite, list, shopName, text } from '../safe';

/**
 * The audit trail: every trade event of this shop and the events naming it, with who signed it
 * (shop and device), when, and what it derives from; a walk back from any event down to the
 * offer and the batch receipt; a period's export as a file anyone can verify; and the check of
 * such a file.
 */

const when = (seconds: unknown) => {
  const value = finite(seconds, NaN);
  return Number.isFinite(value) ? new Date(value * 1000).toLocaleString() : 'unknown time';
};

const dayInput = (date: Date) => `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;

/** Seconds at the local midnight starting a YYYY-MM-DD day (NaN when it is not one). */
const dayStart = (day: string) => Math.floor(new Date(`${day}T00:00:00`).getTime() / 1000);

function Signer({ entry }: { entry: TrailEntryView }) {
  return (
    <span className="trail-signer">
      Signed by <strong>{shopName(entry.shop)}</strong>
      {entry.own ? ' (your shop)' : ''}, device {text(entry.deviceName) || 'unnamed'} <code>{text(entry.device)}</code>
    </span>
  );
}

function Entry({ entry, onWalk }: { entry: TrailEntryView; onWalk: (ref: EventRef, name: string) => void }) {
  const origins = list<TrailEntryView['derivesFrom'][number]>(entry.derivesFrom);
  const answers = list<TrailEntryView['derivedBy'][number]>(entry.derivedBy);
  return (
    <li className="card trail-entry">
      <h3>{text(entry.name)}</h3>
      <p className="vault-facts">
        <time dateTime={new Date(finite(entry.time) * 1000).toISOString()}>{when(entry.time)}</time> · <Signer entry={entry} /> · event <code>{text(entry.ref?.id)}</code>
      </p>
      {text(entry.summary) && <p>{text(entry.summary)}</p>}
      {origins.length > 0 && (
        <p>
          Derived from:{' '}
          {origins.map((origin) =>
            origin.held ? (
              <button key={origin.key} type="button" className="small link" onClick={() => onWalk(origin.ref, text(origin.name))}>
                {text(origin.name)} ({shopName(origin.shop)})
              </button>
            ) : (
              <span key={origin.key} className="trail-missing">
                {' '}
                event <code>{text(origin.ref?.id)}</code> of {origin.shop ? shopName(origin.shop) : 'a shop this device does not carry'} (not held here)
              </span>
            ),
          )}
        </p>
      )}
      {answers.length > 0 && <p className="vault-facts">Followed by: {answers.map((a) => text(a.name)).join(', ')}</p>}
      <button type="button" className="small" onClick={() => onWalk(entry.ref, text(entry.name))} aria-label={`Walk back from ${text(entry.name)} ${text(entry.ref?.id)}`}>
        Walk back
      </button>
    </li>
  );
}

function WalkBack({ from, onWalk, onClose }: { from: { ref: EventRef; name: string }; onWalk: (ref: EventRef, name: string) => void; onClose: () => void }) {
  const headingId = useId();
  const chain = useNodeQuery((n) => n.walkBack(from.ref), [from.ref.vault, from.ref.id]);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    heading.current?.scrollIntoView?.({ block: 'start' });
  }, [from.ref.vault, from.ref.id]);
  const steps = list<NonNullable<typeof chain>['steps'][number]>(chain?.steps);
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Walk back from {from.name}
      </h2>
      {!chain && <p role="status">Reading the trail…</p>}
      <ol className="trail-chain" aria-label="Chain of events, each followed by what it derives from">
        {steps.map((step) => (
          <li key={step.key} style={{ marginInlineStart: `${Math.min(finite(step.depth), 8) * 0.75}rem` }}>
            {step.entry ? (
              <>
                <strong>{text(step.entry.name)}</strong> · {when(step.entry.time)} · <Signer entry={step.entry} />
                {text(step.entry.summary) && <span className="vault-facts">{text(step.entry.summary)}</span>}
                {step.depth > 0 && (
                  <button type="button" className="small link" onClick={() => onWalk(step.ref, text(step.entry?.name))}>
                    Walk back from here
                  </button>
                )}
              </>
            ) : (
              <span className="trail-missing">
                event <code>{text(step.ref?.id)}</code> of vault <code>{text(step.ref?.vault)}</code>: not held by this device
              </span>
            )}
          </li>
        ))}
      </ol>
      {chain?.truncated && <p>The chain is longer than shown.</p>}
      <button type="button" onClick={onClose}>
        Close
      </button>
    </section>
  );
}

function ExportTrail({ hasShop }: { hasShop: boolean }) {
  const { node } = useNode();
  const [from, setFrom] = useState(() => dayInput(new Date(Date.now() - 30 * 86_400_000)));
  const [to, setTo] = useState(() => dayInput(new Date()));
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  async function exportFile(event: FormEvent) {
    event.preventDefault();
    setMessage('');
    setError('');
    const start = dayStart(from);
    const end = dayStart(to) + 86_400;
    if (!Number.isFinite(start) || !Number.isFinite(end) || start >= end) {
      setError('Choose a first day on or before the last day.');
      return;
    }
    setBusy(true);
    try {
      const json = await node.exportTrail(start, end);
      const count = list(JSON.parse(json).events).length;
      const fileName = `souk-trail-${from}-to-${to}.json`;
      downloadFile(json, 'application/json', fileName);
      setMessage(`Downloaded ${fileName}: ${count} events with the signed vaults they come from. Anyone can check it with the shops’ public keys alone.`);
    } catch (e) {
      setError(`The trail could not be exported: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="card" onSubmit={exportFile} aria-label="Export the trail of a period">
      <h2>Export a period</h2>
      <div className="trail-period">
        <label>
          First day <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} required />
        </label>
        <label>
          Last day <input type="date" value={to} onChange={(e) => setTo(e.target.value)} required />
        </label>
      </div>
      <button type="submit" disabled={busy || !hasShop}>
        {busy ? 'Exporting…' : 'Export trail (JSON)'}
      </button>
      {!hasShop && <p>Create your shop to export its trail.</p>}
      {message && <p role="status">{message}</p>}
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

function VerifyTrail() {
  const { node } = useNode();
  const inputId = useId();
  const [busy, setBusy] = useState(false);
  const [verdict, setVerdict] = useState<{ name: string; verdict: TrailVerdict } | null>(null);
  const [error, setError] = useState('');
  async function check(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setVerdict(null);
    setError('');
    if (file.size > 64 * 1024 * 1024) {
      setError(`${file.name} is over 64 MiB: not a Souk trail file.`);
      return;
    }
    setBusy(true);
    try {
      setVerdict({ name: file.name, verdict: await node.verifyTrail(await file.text()) });
    } catch (e) {
      setError(`The file could not be checked: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  }
  const problems = list<string>(verdict?.verdict.problems);
  const vaults = list<TrailVerdict['vaults'][number]>(verdict?.verdict.vaults);
  return (
    <section className="card" aria-label="Verify a trail file">
      <h2>Verify a trail file</h2>
      <p>Checks every signature, device certificate and event in the file with the shops’ public keys in it alone.</p>
      <label htmlFor={inputId}>Trail file (JSON)</label>{' '}
      <input id={inputId} type="file" accept="application/json,.json" onChange={check} disabled={busy} />
      <div role="status" aria-live="polite">
        {busy && <p>Checking…</p>}
        {verdict &&
          (verdict.verdict.valid ? (
            <p className="trail-valid">
              <strong>Valid.</strong> {verdict.name}: {list(verdict.verdict.events).length} events verified, signed by{' '}
              {vaults.map((v) => `${shopName(v.shop)} (${text(v.vaultId).slice(0, 8)})`).join(', ')}.
            </p>
          ) : (
            <>
              <p className="trail-invalid">
                <strong>Not valid.</strong> {verdict.name}: {problems.length} problem{problems.length === 1 ? '' : 's'}.
              </p>
              <ul aria-label="Problems found">
                {problems.map((problem, i) => (
                  <li key={i}>{text(problem)}</li>
                ))}
              </ul>
            </>
          ))}
      </div>
      {error && <p role="alert">{error}</p>}
    </section>
  );
}

export function TrailPage() {
  const { view } = useNode();
  const searchId = useId();
  const [query, setQuery] = useState('');
  const [walk, setWalk] = useState<{ ref: EventRef; name: string } | null>(null);
  const trail = useNodeQuery((n) => n.trail({ query, limit: 200 }), [query]);
  const entries = list<TrailEntryView>(trail?.entries);
  return (
    <>
      {walk && <WalkBack from={walk} onWalk={(ref, name) => setWalk({ ref, name })} onClose={() => setWalk(null)} />}
      <section aria-labelledby={`${searchId}-heading`}>
        <h2 id={`${searchId}-heading`}>Trail</h2>
        <label htmlFor={searchId}>Search the trail</label>{' '}
        <input id={searchId} type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="type, shop, device, product" />
        {trail && (
          <p className="vault-facts">
            {finite(trail.total)} event{finite(trail.total) === 1 ? '' : 's'}
            {finite(trail.total) > entries.length ? `, newest ${entries.length} shown` : ''}
          </p>
        )}
        {trail && entries.length === 0 && <p>No trade events yet. Reservations, sales, batch receipts and deliveries appear here, signed.</p>}
        <ul className="trail" aria-label="Trade events, newest first">
          {entries.map((entry) => (
            <Entry key={entry.key} entry={entry} onWalk={(ref, name) => setWalk({ ref, name })} />
          ))}
        </ul>
      </section>
      <ExportTrail hasShop={Boolean(view.shop)} />
      <VerifyTrail />
    </>
  );
}
