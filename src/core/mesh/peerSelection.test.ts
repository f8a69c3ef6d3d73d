import { describe, expect, it } from 'vitest';
import { ManualClock } from '../test/manualClock';
import { acceptsIncoming, BUSY_WAIT_MS, peersToDial, REDIAL_FIRST_MS, REDIAL_MAX_MS, RedialPolicy, STABLE_LINK_MS } from './peerSelection';

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

describe('redial policy', () => {
  function setup() {
    const clock = new ManualClock();
    return { clock, policy: new RedialPolicy(() => clock.now()) };
  }

  it('waits 5 s after a drop, doubling on each further drop up to 5 min', () => {
    const { clock, policy } = setup();
    expect(policy.waiting()).toEqual(new Set());
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      policy.linked('hostile');
      clock.advance(1_000);
      waits.push(policy.dropped('hostile'));
      expect(policy.waiting()).toEqual(new Set(['hostile']));
      clock.advance(waits[i]! - 1);
      expect(policy.waitFor('hostile')).toBe(1);
      expect(policy.waiting().has('hostile')).toBe(true);
      clock.advance(1);
      expect(policy.waiting().has('hostile')).toBe(false);
    }
    expect(waits).toEqual([5, 10, 20, 40, 80, 160, 300, 300, 300].map((s) => s * 1000));
    expect(REDIAL_FIRST_MS).toBe(5_000);
    expect(REDIAL_MAX_MS).toBe(300_000);
  });

  it('a silent peer the heartbeat drops after 40 s backs off too', () => {
    const { clock, policy } = setup();
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      policy.linked('silent');
      clock.advance(40_000);
      waits.push(policy.dropped('silent'));
      clock.advance(waits[i]!);
    }
    expect(waits).toEqual([5_000, 10_000, 20_000, 40_000]);
  });

  it('a dial that never connected counts as a drop', () => {
    const { clock, policy } = setup();
    expect(policy.dropped('unreachable')).toBe(5_000);
    clock.advance(5_000);
    expect(policy.dropped('unreachable')).toBe(10_000);
  });

  it('a link that lived a while resets the wait to the first step', () => {
    const { clock, policy } = setup();
    for (let i = 0; i < 4; i++) policy.dropped('flaky');
    clock.advance(REDIAL_MAX_MS);
    policy.linked('flaky');
    clock.advance(STABLE_LINK_MS - 1);
    expect(policy.dropped('flaky')).toBe(80_000); // one millisecond short of stable
    clock.advance(80_000);
    policy.linked('flaky');
    clock.advance(STABLE_LINK_MS);
    expect(policy.dropped('flaky')).toBe(5_000);
    clock.advance(5_000);
    expect(policy.dropped('flaky')).toBe(10_000);
  });

  it('keeps each peer apart', () => {
    const { policy } = setup();
    policy.dropped('a');
    policy.dropped('a');
    expect(policy.dropped('b')).toBe(5_000);
    expect(policy.waiting()).toEqual(new Set(['a', 'b']));
  });

  it('a busy answer waits 30 s without a strike', () => {
    const { clock, policy } = setup();
    policy.busy('full');
    expect(policy.waitFor('full')).toBe(BUSY_WAIT_MS);
    clock.advance(BUSY_WAIT_MS);
    expect(policy.waiting().has('full')).toBe(false);
    expect(policy.dropped('full')).toBe(5_000);
  });

  it('a drop never shortens a longer wait already running', () => {
    const { clock, policy } = setup();
    policy.busy('p');
    clock.advance(1_000);
    policy.dropped('p');
    expect(policy.waitFor('p')).toBe(BUSY_WAIT_MS - 1_000);
  });

  it('forgets a peer quiet for an hour: its next drop waits 5 s again', () => {
    const { clock, policy } = setup();
    for (let i = 0; i < 5; i++) policy.dropped('old');
    clock.advance(REDIAL_MAX_MS + 60 * 60_000 + 1);
    expect(policy.waiting()).toEqual(new Set());
    expect(policy.dropped('old')).toBe(5_000);
  });

  it('feeds peersToDial: a peer in its wait is not dialed, others are', () => {
    const { clock, policy } = setup();
    policy.dropped('a');
    const state = { self: 'me', present: ['me', 'a', 'b'], linked: new Set<string>(), maxConnections: 3 };
    expect(peersToDial({ ...state, avoid: policy.waiting() })).toEqual(['b']);
    clock.advance(REDIAL_FIRST_MS);
    expect(peersToDial({ ...state, avoid: policy.waiting() }).sort()).toEqual(['a', 'b']);
  });
});
