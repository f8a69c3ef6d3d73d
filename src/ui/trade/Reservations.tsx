import { useId, useState, type FormEvent } from 'react';
import type { ReservationView } from '../../core/node/tradeDesk';
import type { EventRef } from '../../core/trade/tradeEvent';
import { useNode, useNodeQuery } from '../nodeContext';
import { clock, errorText, money } from '../format';
import { SafeItem } from '../SafeItem';
import { finite, list, shopName, text } from '../safe';

/** What each state says to the merchant, from their side. */
function stateLine(r: ReservationView): string {
  const held = r.holdUntil ? ` until ${new Date(r.holdUntil * 1000).toLocaleString()}` : '';
  switch (r.state) {
    case 'sent':
      return r.side === 'buyer' ? 'Sent — waiting for the seller' : 'New request';
    case 'seen':
      return r.side === 'buyer' ? 'Seen by the seller — waiting for an answer' : 'Waiting for your answer';
    case 'accepted':
      return `Accepted — held${held}`;
    case 'refused':
      return `Refused: ${text(r.refusal?.text) || text(r.refusal?.reason)}`;
    case 'expired':
      return 'Expired — the hold ran out';
    case 'cancelled':
      return r.cancelledBy === 'seller' ? 'Cancelled by the seller' : 'Cancelled by the buyer';
    case 'fulfilled':
      return 'Fulfilled — sold';
    case 'delivered':
      return 'Delivered';
    default:
      return text(r.state);
  }
}

function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(null);
    try {
      await action();
    } catch (error) {
      setProblem(errorText(error));
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, run };
}

function Messages({ r }: { r: ReservationView }) {
  const { node } = useNode();
  const [draft, setDraft] = useState('');
  const { busy, problem, run } = useAction();
  const id = useId();
  const request: EventRef = r.request;
  const send = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await node.messageReservation(request, draft);
      setDraft('');
    });
  };
  const messages = list<ReservationView['messages'][number]>(r.messages);
  return (
    <div className="messages">
      {messages.length > 0 && (
        <ul aria-label="Messages">
          {messages.map((m) => (
            <li key={text(m.id)}>
              <strong>{m.from === r.side ? 'You' : m.from === 'buyer' ? 'Buyer' : 'Seller'}:</strong> {text(m.text)} <small>{clock(finite(m.time) * 1000)}</small>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={send} aria-label="Send a message">
        <label htmlFor={`${id}-m`}>Message</label>
        <input id={`${id}-m`} value={draft} maxLength={200} onChange={(e) => setDraft(e.currentTarget.value)} />
        <button type="submit" disabled={busy || !draft.trim()}>
          Send
        </button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </div>
  );
}

function ReservationCard({ r }: { r: ReservationView }) {
  const { node } = useNode();
  const { busy, problem, run } = useAction();
  const [reason, setReason] = useState('');
  const id = useId();
  const product = text(r.productName) || 'a product';
  const unit = text(r.unit);
  const other = r.side === 'buyer' ? shopName(r.sellerName) : shopName(r.buyerName);
  const label = `${r.side === 'buyer' ? 'Your request' : 'Request'}: ${finite(r.quantity)} ${unit} ${product} ${r.side === 'buyer' ? 'from' : 'by'} ${other}`;
  const request: EventRef = r.request;
  return (
    <li aria-label={label} className="reservation">
      <strong>
        {finite(r.quantity)} {unit} {product}
      </strong>{' '}
      <span>
        {r.side === 'buyer' ? 'from' : 'for'} {other}
      </span>{' '}
      <span>at {money(finite(r.price), text(r.currency))} each</span>
      <p role="status" aria-label="State">
        {stateLine(r)}
      </p>
      {text(r.note) && <p>Note: {text(r.note)}</p>}
      {r.fulfilled && (
        <p>
          Sold {finite(r.fulfilled.quantity)} {unit} at {money(finite(r.fulfilled.price), text(r.currency))}
        </p>
      )}
      <small>
        Requested {clock(finite(r.requestedAt) * 1000)} · updated {clock(finite(r.updatedAt) * 1000)}
      </small>
      <div className="actions">
        {r.side === 'seller' && (r.state === 'sent' || r.state === 'seen') && (
          <>
            <button type="button" disabled={busy} onClick={() => void run(() => node.answerReservation(request, true))}>
              Accept
            </button>
            <label htmlFor={`${id}-r`}>Reason</label>
            <input id={`${id}-r`} value={reason} maxLength={120} onChange={(e) => setReason(e.currentTarget.value)} placeholder="Optional" />
            <button type="button" disabled={busy} onClick={() => void run(() => node.answerReservation(request, false, reason.trim()))}>
              Refuse
            </button>
          </>
        )}
        {r.side === 'seller' && r.state === 'accepted' && (
          <>
            <button type="button" disabled={busy} onClick={() => void run(() => node.fulfilReservation(request))}>
              Fulfil
            </button>
            <button type="button" disabled={busy} onClick={() => void run(() => node.cancelReservation(request))}>
              Release hold
            </button>
          </>
        )}
        {r.side === 'buyer' && (r.state === 'sent' || r.state === 'seen' || r.state === 'accepted') && (
          <button type="button" disabled={busy} onClick={() => void run(() => node.cancelReservation(request))}>
            Cancel request
          </button>
        )}
      </div>
      {problem && <p role="alert">{problem}</p>}
      <Messages r={r} />
    </li>
  );
}

function RulesForm() {
  const { node, view } = useNode();
  const rules = view.settings.trade ?? { autoAcceptUpTo: null, holdMinutes: 24 * 60 };
  const [auto, setAuto] = useState(rules.autoAcceptUpTo === null ? '' : String(rules.autoAcceptUpTo));
  const [hold, setHold] = useState(String(rules.holdMinutes));
  const [saved, setSaved] = useState(false);
  const { busy, problem, run } = useAction();
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    void run(async () => {
      await node.setTradeRules({ autoAcceptUpTo: auto.trim() === '' ? null : Number(auto.replace(',', '.')), holdMinutes: Number(hold) });
      setSaved(true);
    });
  };
  return (
    <form className="card" aria-label="Reservation rules" onSubmit={submit}>
      <h3>How requests are answered</h3>
      {!view.shop?.rootDevice && <p>Requests are answered by rule on your shop’s first device; on this device you answer them by hand.</p>}
      <label htmlFor={`${id}-a`}>Accept automatically up to (units; empty: answer each by hand)</label>
      <input id={`${id}-a`} inputMode="decimal" value={auto} onChange={(e) => setAuto(e.currentTarget.value)} />
      <label htmlFor={`${id}-h`}>Hold accepted requests for (minutes)</label>
      <input id={`${id}-h`} inputMode="numeric" value={hold} onChange={(e) => setHold(e.currentTarget.value)} />
      <button type="submit" disabled={busy}>
        Save rules
      </button>
      {saved && <p role="status">Rules saved</p>}
      {problem && <p role="alert">{problem}</p>}
    </form>
  );
}

export function Reservations() {
  const reservations = list<ReservationView>(useNodeQuery((node) => node.reservations(), []));
  const selling = reservations.filter((r) => r.side === 'seller');
  const buying = reservations.filter((r) => r.side === 'buyer');
  const section = (title: string, items: ReservationView[], empty: string) => (
    <section aria-label={title}>
      <h3>{title}</h3>
      {items.length === 0 ? (
        <p>{empty}</p>
      ) : (
        <ul className="reservations" aria-label={title}>
          {items.map((r, i) => (
            <SafeItem key={`${text(r.request?.vault)}:${text(r.request?.id)}` || `#${i}`} resetKey={r} fallback={<li className="broken">This reservation could not be shown.</li>}>
              <ReservationCard r={r} />
            </SafeItem>
          ))}
        </ul>
      )}
    </section>
  );
  return (
    <section aria-label="Reservations">
      {section('Requests to you', selling, 'No requests for your offers yet.')}
      {section('Your requests', buying, 'You have not reserved anything. Reserve from an offer in the Marketplace.')}
      <RulesForm />
    </section>
  );
}
