import { MAX_HEADS } from '../vault/signedHeads';
import type { Clock } from '../clock';
import type { PeerPolicy } from '../mesh/peerPolicy';
import type { SyncSession } from '../sync/syncSession';
import { fromHex } from '../wire/hex';
import type { VaultStanding } from './vaultStore';

/** Vault versions a link's peer announced that are remembered, per link. */
export const MAX_ANNOUNCED_PER_LINK = 20_000;
/** Requests for vault versions outstanding at once, per link and in all. */
export const MAX_REQUESTS_PER_LINK = 4;
export const MAX_REQUESTS = 32;
export const REQUEST_TIMEOUT_MS = 20_000;
/** From this long after a request on, an answer must be arriving at least at the minimum rate. */
export const REQUEST_GRACE_MS = 4_000;
/** Bytes a second (averaged since the request) below which a request is asked elsewhere. */
export const REQUEST_MIN_BYTES_PER_SECOND = 16 * 1024;

/** What the request bookkeeping needs from the node. */
export interface RequestHost {
  readonly clock: Clock;
  readonly policy: PeerPolicy;
  randomBytes(n: number): Uint8Array;
  /** The version of `vault` held (its counter and heads, what a request says this node has), if any. */
  held(vault: string): { counter: number; heads: string[] } | undefined;
  standingOf(vault: string): VaultStanding;
  /** False for the node's own vault (only it writes that) and once the node has closed. */
  mayAsk(vault: string): boolean;
}

interface Request {
  session: SyncSession;
  at: number;
  /** The link's vault-sync bytes when asked. */
  bytesAt: number;
}

interface LinkState {
  /** The newest counter the peer announced, per vault (bounded). */
  announced: Map<string, number>;
  /** Vaults asked of this peer on this link: only those may come back. */
  asked: Set<string>;
  /** Vaults new to this node that the peer spent one of its new-vault allowance on. */
  admitted: Set<string>;
}

/**
 * Which versions of which vaults to ask for, and from whom. Every link's announcements are
 * remembered (bounded); one request per vault is under way at a time, at most four per link and
 * 32 in all. Whom to ask: the shop's own node, then established peers, then the rest, at random
 * among equals; peers that failed this version (gave nothing at the minimum rate, refused, or
 * sent a bundle that was not taken) last, and their announcement is forgotten so they must pay
 * to announce it again. A vault new to this node costs the announcing peer one of its new-vault
 * allowance, once per link. Evicted vaults are asked for again only at a newer version.
 */
export class VaultRequests {
  private readonly links = new Map<SyncSession, LinkState>();
  private readonly pending = new Map<string, Request>();
  private readonly failed = new Map<string, { counter: number; peers: Set<string> }>();
  private readonly evicted = new Map<string, number>();

  constructor(private readonly host: RequestHost) {}

  track(session: SyncSession): void {
    this.links.set(session, { announced: new Map(), asked: new Set(), admitted: new Set() });
  }

  /** The link closed: its requests go elsewhere. */
  untrack(session: SyncSession): void {
    this.links.delete(session);
    for (const [vault, request] of this.pending) {
      if (request.session === session) {
        this.pending.delete(vault);
        this.request(vault);
      }
    }
  }

  announcedCounter(session: SyncSession, vault: string): number {
    return this.links.get(session)?.announced.get(vault) ?? 0;
  }

  /** Remembers an announcement; false when the link's list is full. */
  announce(session: SyncSession, vault: string, counter: number): boolean {
    const link = this.links.get(session);
    if (!link) return false;
    if (!link.announced.has(vault) && link.announced.size >= MAX_ANNOUNCED_PER_LINK) return false;
    link.announced.set(vault, counter);
    return true;
  }

  canRemember(session: SyncSession, vault: string): boolean {
    const link = this.links.get(session);
    return !!link && (link.announced.has(vault) || link.announced.size < MAX_ANNOUNCED_PER_LINK);
  }

  /** Whether `session`'s peer may bring `vault`, new to this node: once per link, at the cost of one new-vault allowance. */
  admit(session: SyncSession, vault: string): boolean {
    const link = this.links.get(session);
    const peer = session.remote?.nodeId;
    if (!link || !peer) return false;
    if (link.admitted.has(vault)) return true;
    if (!this.host.policy.take(peer, 'newVaults')) return false;
    if (link.admitted.size >= MAX_ANNOUNCED_PER_LINK) link.admitted.clear();
    link.admitted.add(vault);
    return true;
  }

  /** An answer arrived: true if it was asked for on this link (else it is unsolicited). */
  answered(session: SyncSession, vault: string): boolean {
    if (!this.links.get(session)?.asked.delete(vault)) return false;
    if (this.pending.get(vault)?.session === session) this.pending.delete(vault);
    return true;
  }

  /** The peer refused a request: a busy or not-here peer is asked last, and must announce again. */
  refused(session: SyncSession, vault: string): void {
    if (this.pending.get(vault)?.session !== session) {
      this.links.get(session)?.announced.delete(vault);
      return;
    }
    this.markFailed(vault, session);
    this.pending.delete(vault);
    this.links.get(session)?.announced.delete(vault);
    this.request(vault);
  }

  /** What the peer sent was not taken: asked elsewhere. */
  notTaken(session: SyncSession, vault: string): void {
    this.markFailed(vault, session);
    this.links.get(session)?.announced.delete(vault);
    queueMicrotask(() => this.request(vault));
  }

  /**
   * What this node held of `vault` was dropped (proved invalid by what a peer sent): asked for
   * again, from the peers that announced it, that one included.
   */
  askAgain(vault: string): void {
    this.failed.delete(vault);
    this.evicted.delete(vault);
    queueMicrotask(() => this.request(vault));
  }

  /** A version of `vault` was taken: failures of older versions no longer matter. */
  taken(vault: string): void {
    this.failed.delete(vault);
  }

  evictedVault(vault: string, counter: number): void {
    this.evicted.delete(vault);
    this.evicted.set(vault, counter);
    for (const old of this.evicted.keys()) {
      if (this.evicted.size <= MAX_ANNOUNCED_PER_LINK) break;
      this.evicted.delete(old);
    }
  }

  /** Asks one peer that announced a newer version of `vault` for it, unless a request is under way or budgets say wait. */
  request(vault: string): void {
    if (!this.host.mayAsk(vault)) return;
    const held = this.host.held(vault);
    const heldCounter = held?.counter ?? 0;
    const pending = this.pending.get(vault);
    const now = this.host.clock.now();
    if (pending && !this.stale(pending, now)) return;
    if (pending) {
      this.pending.delete(vault);
      this.links.get(pending.session)?.announced.delete(vault);
      this.markFailed(vault, pending.session);
    }
    if (this.pending.size >= MAX_REQUESTS) return; // The retry asks again.
    const candidates: [SyncSession, LinkState, number][] = [];
    for (const [session, link] of this.links) {
      const counter = link.announced.get(vault) ?? 0;
      if (counter <= heldCounter || session.closedReason !== undefined || !session.remote) continue;
      if (this.evictedAt(vault, counter)) continue;
      const failed = this.failedFor(vault, session) ? 10 : 0;
      const rank = failed + (session.remote.shopVaultId === vault ? 0 : this.host.policy.isEstablished(session.remote.nodeId) ? 1 : 2);
      candidates.push([session, link, rank]);
    }
    // At random among equals: one draw for all the candidates, only when there is a choice.
    if (candidates.length > 1) {
      const noise = this.host.randomBytes(candidates.length);
      candidates.forEach((candidate, i) => (candidate[2] += noise[i]! / 256));
    }
    candidates.sort((a, b) => a[2] - b[2]);
    for (const [session, link] of candidates) {
      if (this.outstanding(session) >= MAX_REQUESTS_PER_LINK) continue;
      if (!held && this.host.standingOf(vault) === 'other' && !this.admit(session, vault)) continue;
      this.pending.set(vault, { session, at: now, bytesAt: session.syncBytesIn });
      if (link.asked.size >= MAX_ANNOUNCED_PER_LINK) link.asked.clear();
      link.asked.add(vault);
      // More heads than a want may carry (many devices merged): ask for the whole document instead.
      const have = held && held.heads.length <= MAX_HEADS ? held.heads : [];
      session.send({ type: 'want', vaultId: fromHex(vault), have });
      return;
    }
  }

  /** After a request to `session` finished: asks it for more of what it announced, up to the per-link limit. */
  askMore(session: SyncSession): void {
    const link = this.links.get(session);
    if (!link || session.closedReason !== undefined) return;
    for (const [vault, counter] of link.announced) {
      if (this.pending.size >= MAX_REQUESTS || this.outstanding(session) >= MAX_REQUESTS_PER_LINK) return;
      if (this.pending.has(vault) || counter <= (this.host.held(vault)?.counter ?? 0)) continue;
      if (this.evictedAt(vault, counter)) continue;
      this.request(vault);
    }
  }

  /** Every vault some link announced newer than held: asked again (the retry timer). */
  retry(): void {
    const vaults = new Set<string>();
    for (const link of this.links.values()) {
      for (const [vault, counter] of link.announced) if (counter > (this.host.held(vault)?.counter ?? 0)) vaults.add(vault);
    }
    for (const vault of vaults) this.request(vault);
  }

  /**
   * A request is given up on when its link closed, when after a grace period vault-sync bytes
   * arrive on that link slower than a minimum rate (a peer that announces and then trickles or
   * says nothing holds nobody up for long), or after the overall timeout.
   */
  private stale(request: Request, now: number): boolean {
    if (request.session.closedReason !== undefined) return true;
    const elapsed = now - request.at;
    if (elapsed >= REQUEST_TIMEOUT_MS) return true;
    if (elapsed < REQUEST_GRACE_MS) return false;
    return request.session.syncBytesIn - request.bytesAt < (elapsed / 1000) * REQUEST_MIN_BYTES_PER_SECOND;
  }

  /** Remembers that `session`'s peer failed a request for the version of `vault` it announced (bounded). */
  private markFailed(vault: string, session: SyncSession): void {
    const peer = session.remote?.nodeId;
    if (!peer) return;
    const counter = this.links.get(session)?.announced.get(vault) ?? this.host.held(vault)?.counter ?? 0;
    const entry = this.failed.get(vault);
    if (!entry || entry.counter < counter) this.failed.set(vault, { counter, peers: new Set([peer]) });
    else if (entry.peers.size < 64) entry.peers.add(peer);
    for (const old of this.failed.keys()) {
      if (this.failed.size <= MAX_REQUESTS * 64) break;
      this.failed.delete(old);
    }
  }

  private failedFor(vault: string, session: SyncSession): boolean {
    const entry = this.failed.get(vault);
    const counter = this.links.get(session)?.announced.get(vault) ?? 0;
    return !!entry && !!session.remote && entry.peers.has(session.remote.nodeId) && counter <= entry.counter;
  }

  /** Evicted at this version or a later one: not asked for again (a newer version is, at the announcer's cost). */
  private evictedAt(vault: string, counter: number): boolean {
    const at = this.evicted.get(vault);
    return at !== undefined && counter <= at && this.host.standingOf(vault) === 'other';
  }

  private outstanding(session: SyncSession): number {
    let count = 0;
    for (const request of this.pending.values()) if (request.session === session) count += 1;
    return count;
  }
}
