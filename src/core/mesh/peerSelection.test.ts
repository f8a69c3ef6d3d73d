import { describe, expect, it } from 'vitest';
import { acceptsIncoming, peersToDial } from './peerSelection';

describe('peer selection', () => {
  const present = ['me', 'a', 'b', 'c', 'd', 'e'];

  it('dials only up to the limit, never itself, a linked or an avoided peer', () => {
    const dial = peersToDial({ self: 'me', present, linked: new Set(['a']), avoid: new Set(['b']), maxConnections: 3 });
    expect(dial).toHaveLength(2);
    for (const p of dial) expect(['c', 'd', 'e']).toContain(p);
    expect(peersToDial({ self: 'me', present, linked: new Set(['a', 'b', 'c']), avoid: new Set(), maxConnections: 3 })).toEqual([]);
  });

  it('spreads its choice over the room', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) for (const p of peersToDial({ self: 'me', present, linked: new Set(), avoid: new Set(), maxConnections: 1 })) seen.add(p);
    expect(seen).toEqual(new Set(['a', 'b', 'c', 'd', 'e']));
  });

  it('accepts incoming links only while it has room', () => {
    const state = { self: 'me', present, linked: new Set(['a', 'b']), avoid: new Set(['e']), maxConnections: 2 };
    expect(acceptsIncoming(state, 'c')).toBe(false);
    expect(acceptsIncoming(state, 'a')).toBe(true);
    expect(acceptsIncoming({ ...state, maxConnections: 3 }, 'c')).toBe(true);
    expect(acceptsIncoming({ ...state, maxConnections: 3 }, 'e')).toBe(false);
  });
});
