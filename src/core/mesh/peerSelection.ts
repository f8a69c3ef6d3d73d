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
