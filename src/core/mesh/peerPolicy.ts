import type { Clock } from '../clock';

/**
 * What this node thinks of each peer it has met, by PROVEN node id (a public key the peer signed
 * a challenge with): its offences, whether it is blocked, and its budgets. A fresh identity
 * starts with the smallest budgets and earns larger ones by delivering valid vault versions over
 * time, so a blocked peer that comes back under a new key gains nothing. Every list is bounded:
 * standings are kept for the most recently seen MAX_STANDINGS peers, blocks for MAX_BLOCKED.
 */
export const OFFENCES_BEFORE_BLOCK = 3;
export const MAX_STANDINGS = 2048;
export const MAX_BLOCKED = 1024;
/** Good deliveries, and time since first seen, before a peer is trusted with larger budgets. */
export const ESTABLISHED_AFTER_DELIVERIES = 10;
export const ESTABLISHED_AFTER_MS = 30 * 60_000;

export interface Allowance {
  /** Units available at once. */
  burst: number;
  /** Units earned back per second. */
  perSecond: number;
}

export interface PeerBudgets {
  /** Vaults this node did not carry before, taken from the peer. */
  newVaults: Allowance;
  /** Bytes served to the peer (vault bundles). */
  servedBytes: Allowance;
  /** Signed statements verified for the peer (heads announcements). */
  verifications: Allowance;
  /** Automerge operations loaded from the peer's bundles (a whole document counts all of its operations). */
  ops: Allowance;
  /** Bytes of vaults new to this node that the peer brought (what they take in storage). */
  vaultBytes: Allowance;
}

export const FRESH_BUDGETS: PeerBudgets = {
  newVaults: { burst: 24, perSecond: 0.1 },
  servedBytes: { burst: 8 * 1024 * 1024, perSecond: 256 * 1024 },
  verifications: { burst: 600, perSecond: 10 },
  ops: { burst: 600_000, perSecond: 5_000 },
  vaultBytes: { burst: 4 * 1024 * 1024, perSecond: 16 * 1024 },
};

export const ESTABLISHED_BUDGETS: PeerBudgets = {
  newVaults: { burst: 256, perSecond: 1 },
  servedBytes: { burst: 96 * 1024 * 1024, perSecond: 2 * 1024 * 1024 },
  verifications: { burst: 4096, perSecond: 100 },
  ops: { burst: 2_000_000, perSecond: 50_000 },
  vaultBytes: { burst: 64 * 1024 * 1024, perSecond: 256 * 1024 },
};

type BudgetName = keyof PeerBudgets;

interface Bucket {
  tokens: number;
  at: number;
}

interface Standing {
  firstSeenAt: number;
  offences: number;
  deliveries: number;
  buckets: Partial<Record<BudgetName, Bucket>>;
}

export class PeerPolicy {
  private readonly standings = new Map<string, Standing>();
  private readonly blocked = new Map<string, { at: number; reason: string }>();

  constructor(
    private readonly clock: Clock,
    private readonly budgets: { fresh: PeerBudgets; established: PeerBudgets } = { fresh: FRESH_BUDGETS, established: ESTABLISHED_BUDGETS },
  ) {}

  private standing(peer: string): Standing {
    let standing = this.standings.get(peer);
    if (standing) {
      this.standings.delete(peer);
      this.standings.set(peer, standing);
      return standing;
    }
    standing = { firstSeenAt: this.clock.now(), offences: 0, deliveries: 0, buckets: {} };
    this.standings.set(peer, standing);
    for (const key of this.standings.keys()) {
      if (this.standings.size <= MAX_STANDINGS) break;
      this.standings.delete(key);
    }
    return standing;
  }

  isEstablished(peer: string): boolean {
    const standing = this.standings.get(peer);
    if (!standing) return false;
    return standing.deliveries >= ESTABLISHED_AFTER_DELIVERIES && this.clock.now() - standing.firstSeenAt >= ESTABLISHED_AFTER_MS;
  }

  private allowance(peer: string, budget: BudgetName): Allowance {
    return (this.isEstablished(peer) ? this.budgets.established : this.budgets.fresh)[budget];
  }

  /** A peer's bucket for one budget, refilled to the present. */
  private bucket(peer: string, budget: BudgetName): { bucket: Bucket; burst: number } {
    const standing = this.standing(peer);
    const { burst, perSecond } = this.allowance(peer, budget);
    const now = this.clock.now();
    const bucket = (standing.buckets[budget] ??= { tokens: burst, at: now });
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    return { bucket, burst };
  }

  /** What is left of a peer's budget now, without taking any. */
  available(peer: string, budget: BudgetName): number {
    return this.bucket(peer, budget).bucket.tokens;
  }

  /** Takes `amount` from a peer's budget if it has that much; false (and nothing taken) if not. */
  take(peer: string, budget: BudgetName, amount = 1): boolean {
    const { bucket, burst } = this.bucket(peer, budget);
    // One large item may overdraw a full bucket (a whole vault bigger than the burst), never twice.
    if (bucket.tokens < amount && !(bucket.tokens >= burst && amount > burst)) return false;
    bucket.tokens -= amount;
    return true;
  }

  /**
   * Charges `amount` after the fact (the cost is known only once the work is done): the budget may
   * go below zero, and the peer then waits until it has earned it back.
   */
  charge(peer: string, budget: BudgetName, amount: number): void {
    this.bucket(peer, budget).bucket.tokens -= amount;
  }

  /** The peer delivered a valid, new vault version. */
  delivered(peer: string): void {
    this.standing(peer).deliveries += 1;
  }

  /** Counts an offence; true when the peer is now blocked. */
  offence(peer: string, reason: string): boolean {
    const standing = this.standing(peer);
    standing.offences += 1;
    if (standing.offences < OFFENCES_BEFORE_BLOCK) return false;
    this.block(peer, reason);
    return true;
  }

  offences(peer: string): number {
    return this.standings.get(peer)?.offences ?? 0;
  }

  block(peer: string, reason: string): void {
    this.blocked.delete(peer);
    this.blocked.set(peer, { at: this.clock.now(), reason });
    for (const key of this.blocked.keys()) {
      if (this.blocked.size <= MAX_BLOCKED) break;
      this.blocked.delete(key);
    }
  }

  isBlocked(peer: string): boolean {
    return this.blocked.has(peer);
  }

  blockedPeers(): string[] {
    return [...this.blocked.keys()];
  }
}
