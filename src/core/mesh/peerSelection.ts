/**
 * Which peers a node links to. A node keeps at most `maxConnections` links (incoming and
 * outgoing together); it dials random peers it is not linked to until it has them, and
 * accepts an incoming link only while it has room. Random choice keeps the graph connected
 * with high probability, so vaults still reach everyone through gossip.
 */
export interface MeshState {
  self: string;
  /** Everyone the signaling server says is in the room. */
  present: readonly string[];
  /** Linked or being linked. */
  linked: ReadonlySet<string>;
  /** Not to be dialed now: blocked, or recently said busy. */
  avoid: ReadonlySet<string>;
  maxConnections: number;
}

export function peersToDial(state: MeshState, random: () => number = Math.random): string[] {
  const room = state.maxConnections - state.linked.size;
  if (room <= 0) return [];
  const candidates = state.present.filter((p) => p !== state.self && !state.linked.has(p) && !state.avoid.has(p));
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  return candidates.slice(0, room);
}

export function acceptsIncoming(state: MeshState, from: string): boolean {
  if (from === state.self || state.avoid.has(from)) return false;
  if (state.linked.has(from)) return true; // a renegotiation or a crossed dial: the existing slot
  return state.linked.size < state.maxConnections;
}

/** After a link or a dial to a peer ends, the first wait before dialing it again. */
export const REDIAL_FIRST_MS = 5_000;
/** The longest wait: the wait doubles on every drop up to this. */
export const REDIAL_MAX_MS = 5 * 60_000;
/** A link that lived this long was a good one: the next drop waits only the first step again. */
export const STABLE_LINK_MS = 2 * 60_000;
/** A peer that answered "busy" is not dialed for this long (it may still dial us). */
export const BUSY_WAIT_MS = 30_000;
/** A peer with no drop for this long starts again from the first step. */
const FORGIVE_AFTER_MS = 60 * 60_000;

interface PeerRecord {
  /** Drops in a row without a stable link in between. */
  strikes: number;
  /** Not dialed before this time. */
  until: number;
  /** Set while a link carries data. */
  linkedAt?: number;
}

/**
 * When a peer may be dialed again. Every end of a link or a dial (the channel closed, the
 * connection failed, the node's session ended, the dial timed out) makes the peer wait before
 * this node dials it again: 5 s, doubling on every further drop up to 5 min, back to 5 s once
 * a link to it has lived 2 min. A peer that closes its links at once, or falls silent until the
 * heartbeat drops it, thus holds a slot for less and less of the time instead of being dialed
 * again at once, forever. A "busy" answer is a plain 30 s wait that counts no strike. Incoming
 * dials are not governed here: a peer in its wait may still dial us (a restarted tab does).
 */
export class RedialPolicy {
  private readonly peers = new Map<string, PeerRecord>();

  constructor(private readonly now: () => number) {}

  /** A link to `peer` carries data from now on. */
  linked(peer: string): void {
    const record = this.peers.get(peer) ?? { strikes: 0, until: 0 };
    record.linkedAt = this.now();
    this.peers.set(peer, record);
  }

  /** A link or a dial to `peer` ended. Returns how long it now waits, in ms. */
  dropped(peer: string): number {
    const now = this.now();
    const record = this.peers.get(peer) ?? { strikes: 0, until: 0 };
    if (record.linkedAt !== undefined && now - record.linkedAt >= STABLE_LINK_MS) record.strikes = 0;
    record.linkedAt = undefined;
    const wait = Math.min(REDIAL_MAX_MS, REDIAL_FIRST_MS * 2 ** Math.min(record.strikes, 30));
    record.strikes += 1;
    record.until = Math.max(record.until, now + wait);
    this.peers.set(peer, record);
    return wait;
  }

  /** `peer` answered busy: not dialed for a while, no strike. */
  busy(peer: string): void {
    const record = this.peers.get(peer) ?? { strikes: 0, until: 0 };
    record.until = Math.max(record.until, this.now() + BUSY_WAIT_MS);
    this.peers.set(peer, record);
  }

  /** How long until `peer` may be dialed (0: now). */
  waitFor(peer: string): number {
    return Math.max(0, (this.peers.get(peer)?.until ?? 0) - this.now());
  }

  /** The peers not to be dialed now. Forgets peers that have been quiet for an hour. */
  waiting(): Set<string> {
    const now = this.now();
    const result = new Set<string>();
    for (const [peer, record] of this.peers) {
      if (record.until > now) result.add(peer);
      else if (record.linkedAt === undefined && now - record.until > FORGIVE_AFTER_MS) this.peers.delete(peer);
    }
    return result;
  }
}
