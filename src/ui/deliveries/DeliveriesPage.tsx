import { useState, type FormEvent } from 'react';
import type { DeliveryBoard, DeliveryLegView, DeliveryView } from '../../core/node/deliveryDesk';
import type { ReservationView } from '../../core/node/tradeDesk';
import type { EventRef } from '../../core/trade/tradeEvent';
import { errorText } from '../format';
import { Field, FormAlert, messageFor, problemOf, SELECT_STYLE, type FormProblem } from '../fields';
import { useNode, useNodeQuery } from '../nodeContext';

/**
 * Deliveries, by role. A driver: the capacity form (Area, Load, From, Until, "Announce
 * capacity"), jobs offered ("Accept", "Decline"), its jobs ("Picked up", "Delivered"). A seller:
 * its fulfilled sales with "Request delivery" (a proposed driver, or the first), and each
 * delivery's progress with its hand-overs. A buyer: the progress of its deliveries.
 */
export function DeliveriesPage() {
  const board = useNodeQuery((node) => node.deliveryBoard(), []);
  if (!board) return <p>Loading deliveries…</p>;
  const driving = board.deliveries.filter((d) => d.side === 'driver');
  const others = board.deliveries.filter((d) => d.side !== 'driver');
  return (
    <section aria-label="Deliveries">
      <h2>Deliveries</h2>
      {board.role === 'driver' ? (
        <DriverSide board={board} jobs={driving} />
      ) : (
        <>
          <SalesToDeliver sales={board.awaiting} />
          <DeliveryList title="Your deliveries" deliveries={others} />
        </>
      )}
      {board.role === 'driver' && others.length > 0 && <DeliveryList title="Deliveries to you or from you" deliveries={others} />}
      {board.more > 0 && <p role="status">…and {board.more} more deliveries, not listed here.</p>}
    </section>
  );
}

// ------------------------------------------------------------------ helpers

const when = (seconds: number) => new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });

/** A datetime-local input's value for a time in seconds, in local time. */
function localInput(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function secondsOf(value: FormDataEntryValue | null): number {
  const ms = new Date(String(value ?? '')).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : NaN;
}

/** The words for a leg's state, with its driver. */
export function legText(leg: DeliveryLegView): string {
  const who = leg.driverName;
  switch (leg.state) {
    case 'proposed':
      return `Waiting for ${who} to accept (by ${when(leg.answerBy)})`;
    case 'accepted':
      return `Accepted by ${who}, pick-up by ${when(leg.pickUpBy)}`;
    case 'pickedUp':
      return `Picked up by ${who}, delivery by ${when(leg.deliverBy)}`;
    case 'delivered':
      return `Delivered by ${who}`;
    case 'declined':
      return `${who} declined${leg.declined?.text ? `: ${leg.declined.text}` : ''}`;
    case 'silent':
      return `${who} is late: ${leg.acceptedAt === null ? 'no answer' : leg.pickedUpAt === null ? 'not picked up' : 'not delivered'} in time`;
    case 'replaced':
      return `${who}: handed over (${leg.replacedBecause})`;
  }
}

const HAND_OVER_WORDS = { declined: 'declined', 'no answer': 'did not answer in time', 'not picked up': 'did not pick up in time', 'not delivered': 'did not deliver in time' } as const;

function useAction(): { busy: boolean; problem: FormProblem | null; run: (action: () => Promise<unknown>, labels?: readonly string[]) => Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<FormProblem | null>(null);
  return {
    busy,
    problem,
    async run(action, labels = []) {
      setBusy(true);
      setProblem(null);
      try {
        await action();
        return true;
      } catch (error) {
        setProblem(labels.length ? problemOf(error, labels) : { message: errorText(error) });
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}

// ------------------------------------------------------------------ a delivery's progress (seller, buyer, driver)

function DeliveryCard({ delivery }: { delivery: DeliveryView }) {
  const label = `Delivery of ${delivery.quantity} ${delivery.unit} ${delivery.productName} from ${delivery.sellerName} to ${delivery.buyerName}`;
  return (
    <li aria-label={label} className="card">
      <strong>
        {delivery.quantity} {delivery.unit} {delivery.productName}
      </strong>
      <span>
        {' '}
        · {delivery.sellerName} ({delivery.from}) → {delivery.buyerName} ({delivery.to})
      </span>
      <p className="delivery-state">Delivery status: {legText(delivery.current)}</p>
      {delivery.handOvers.length > 0 && (
        <ul aria-label="Hand-overs">
          {delivery.handOvers.map((h) => (
            <li key={`${h.from}:${h.at}`}>
              Handed over from {h.fromName} to {h.toName}: {h.fromName} {HAND_OVER_WORDS[h.reason]} ({when(h.at)})
            </li>
          ))}
        </ul>
      )}
      <details>
        <summary>Steps</summary>
        <ol aria-label="Delivery steps">
          {delivery.legs.map((leg) => (
            <li key={leg.ref.id}>
              Asked {leg.driverName} ({when(leg.requestedAt)}){leg.acceptedAt !== null && `; accepted ${when(leg.acceptedAt)}`}
              {leg.pickedUpAt !== null && `; picked up ${when(leg.pickedUpAt)}`}
              {leg.deliveredAt !== null && `; delivered ${when(leg.deliveredAt)}`}
              {leg.declined && `; declined ${when(leg.declined.time)}`}
              {leg.late.length > 0 && `; late, ignored: ${leg.late.map((e) => `${e.type.replace('delivery', '').toLowerCase()} ${when(e.time)}`).join(', ')}`}
            </li>
          ))}
        </ol>
      </details>
      {delivery.side === 'seller' && (delivery.state === 'declined' || delivery.state === 'silent') && (
        <RequestDelivery request={delivery.reservation} label="Ask another driver" />
      )}
    </li>
  );
}

function DeliveryList({ title, deliveries }: { title: string; deliveries: DeliveryView[] }) {
  return (
    <section aria-label={title}>
      <h3>{title}</h3>
      {deliveries.length === 0 ? (
        <p>No deliveries yet.</p>
      ) : (
        <ul className="deliveries" style={{ listStyle: 'none', padding: 0 }}>
          {deliveries.map((d) => (
            <DeliveryCard key={`${d.reservation.vault}:${d.reservation.id}`} delivery={d} />
          ))}
        </ul>
      )}
    </section>
  );
}

// ------------------------------------------------------------------ seller

function RequestDelivery({ request, label = 'Request delivery' }: { request: EventRef; label?: string }) {
  const { node } = useNode();
  const drivers = useNodeQuery((n) => n.proposedDrivers(request).catch(() => []), [request.vault, request.id]);
  const [driver, setDriver] = useState('');
  const action = useAction();
  return (
    <div className="request-delivery">
      {drivers && drivers.length === 0 && <p>No driver has announced capacity in the buyer&apos;s area yet.</p>}
      {drivers && drivers.length > 0 && (
        <label>
          Driver{' '}
          <select value={driver} onChange={(e) => setDriver(e.currentTarget.value)} style={{ ...SELECT_STYLE, width: 'auto' }}>
            <option value="">First available ({drivers[0]!.name})</option>
            {drivers.map((d) => (
              <option key={d.driver} value={d.driver}>
                {d.name} — {d.free} free, until {when(d.until)}
              </option>
            ))}
          </select>
        </label>
      )}{' '}
      <button type="button" disabled={action.busy} onClick={() => void action.run(() => node.requestDelivery(request, driver ? { driver } : {}))}>
        {label}
      </button>
      <FormAlert problem={action.problem} />
    </div>
  );
}

function SalesToDeliver({ sales }: { sales: ReservationView[] }) {
  if (!sales.length) return null;
  return (
    <section aria-label="Sales to deliver">
      <h3>Sales to deliver</h3>
      <ul style={{ listStyle: 'none', padding: 0 }}>
        {sales.map((sale) => (
          <li key={sale.request.id} className="card" aria-label={`Sale of ${sale.quantity} ${sale.unit} ${sale.productName} to ${sale.buyerName}`}>
            <strong>
              {sale.quantity} {sale.unit} {sale.productName}
            </strong>{' '}
            to {sale.buyerName} (fulfilled)
            <RequestDelivery request={sale.request} />
          </li>
        ))}
      </ul>
    </section>
  );
}

// ------------------------------------------------------------------ driver

const CAPACITY_FIELDS = ['Area', 'Load', 'From', 'Until', 'Role'] as const;

function CapacityForm({ board }: { board: DeliveryBoard }) {
  const { node, view } = useNode();
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const now = Math.floor(Date.now() / 1000);
  const current = board.capacity;
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setSaved(false);
    const ok = await action.run(
      () =>
        node.announceCapacity({
          area: String(form.get('area') ?? ''),
          load: Number(String(form.get('load') ?? '').replace(',', '.')),
          from: secondsOf(form.get('from')),
          until: secondsOf(form.get('until')),
        }),
      CAPACITY_FIELDS,
    );
    setSaved(ok);
  }
  return (
    <form className="card" aria-label="Your capacity" onSubmit={submit}>
      <h3>Your capacity</h3>
      {current ? (
        <p>
          Announced: {current.area}, load {current.load}, {when(current.from)} – {when(current.until)}
        </p>
      ) : (
        <p>Say where you drive, how much you can carry and when: sellers in that area can then ask you.</p>
      )}
      <Field
        label="Area"
        error={messageFor(action.problem, 'Area')}
        hint="The buyers' area, as shops name it in their profile"
        control={(props) => <input {...props} name="area" required defaultValue={current?.area ?? view.shop?.area ?? ''} />}
      />
      <Field
        label="Load"
        error={messageFor(action.problem, 'Load')}
        hint="How much you can carry, in the sellers' units"
        control={(props) => <input {...props} name="load" inputMode="decimal" required defaultValue={current ? String(current.load) : ''} />}
      />
      <Field
        label="From"
        error={messageFor(action.problem, 'From')}
        control={(props) => <input {...props} name="from" type="datetime-local" required defaultValue={localInput(current?.from ?? now)} />}
      />
      <Field
        label="Until"
        error={messageFor(action.problem, 'Until')}
        control={(props) => <input {...props} name="until" type="datetime-local" required defaultValue={localInput(current?.until ?? now + 8 * 3600)} />}
      />
      <FormAlert problem={action.problem} />
      {saved && <p role="status">Capacity announced.</p>}
      <button type="submit" disabled={action.busy}>
        Announce capacity
      </button>
    </form>
  );
}

function JobCard({ job }: { job: DeliveryView }) {
  const { node } = useNode();
  const action = useAction();
  const leg = job.mine!;
  const ref = leg.ref;
  const offered = job.mineIsCurrent && leg.acceptedAt === null && !leg.declined && (leg.state === 'proposed' || leg.state === 'silent');
  const open = job.mineIsCurrent && leg.acceptedAt !== null && leg.deliveredAt === null;
  const label = `Job: ${job.quantity} ${job.unit} ${job.productName} from ${job.sellerName} (${job.from}) to ${job.buyerName} (${job.to})`;
  return (
    <li aria-label={label} className="card">
      <strong>
        {job.quantity} {job.unit} {job.productName}
      </strong>
      <span>
        {' '}
        · from {job.sellerName} ({job.from}) to {job.buyerName} ({job.to})
      </span>
      <p className="delivery-state">Job status: {job.mineIsCurrent ? legText(leg) : `${legText(leg)}: given to another driver`}</p>
      {offered && (
        <p>
          <button type="button" disabled={action.busy} onClick={() => void action.run(() => node.answerDelivery(ref, true))}>
            Accept
          </button>{' '}
          <button type="button" disabled={action.busy} onClick={() => void action.run(() => node.answerDelivery(ref, false))}>
            Decline
          </button>
        </p>
      )}
      {open && (
        <p>
          {leg.pickedUpAt === null && (
            <button type="button" disabled={action.busy} onClick={() => void action.run(() => node.reportPickedUp(ref))}>
              Picked up
            </button>
          )}{' '}
          <button type="button" disabled={action.busy} onClick={() => void action.run(() => node.reportDelivered(ref))}>
            Delivered
          </button>
        </p>
      )}
      <FormAlert problem={action.problem} />
    </li>
  );
}

function DriverSide({ board, jobs }: { board: DeliveryBoard; jobs: DeliveryView[] }) {
  const offered = jobs.filter((j) => j.mineIsCurrent && j.mine!.acceptedAt === null && !j.mine!.declined && (j.state === 'proposed' || j.state === 'silent'));
  const mine = jobs.filter((j) => j.mineIsCurrent && j.mine!.acceptedAt !== null && j.state !== 'delivered');
  const past = jobs.filter((j) => !offered.includes(j) && !mine.includes(j));
  const section = (title: string, list: DeliveryView[], empty: string) => (
    <section aria-label={title}>
      <h3>{title}</h3>
      {list.length === 0 ? (
        <p>{empty}</p>
      ) : (
        <ul style={{ listStyle: 'none', padding: 0 }}>
          {list.map((j) => (
            <JobCard key={j.mine!.ref.id} job={j} />
          ))}
        </ul>
      )}
    </section>
  );
  return (
    <>
      <CapacityForm board={board} />
      {section('Jobs offered', offered, 'No jobs offered yet.')}
      {section('Your jobs', mine, 'No jobs under way.')}
      {past.length > 0 && section('Past jobs', past, '')}
    </>
  );
}
