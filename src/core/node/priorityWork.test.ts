import { describe, expect, it } from 'vitest';
import { PriorityWork } from './priorityWork';

describe('PriorityWork', () => {
  it('runs one task at a time, most urgent first, in order within a priority', async () => {
    const work = new PriorityWork(3);
    const order: string[] = [];
    let release!: () => void;
    const first = work.run(2, () => new Promise<void>((resolve) => (release = () => (order.push('first'), resolve()))));
    const done = [
      work.run(2, async () => void order.push('new vault 1')),
      work.run(1, async () => void order.push('update 1')),
      work.run(2, async () => void order.push('new vault 2')),
      work.run(0, async () => void order.push('partner')),
      work.run(1, async () => void order.push('update 2')),
    ];
    expect(work.size).toBe(5);
    release();
    await Promise.all([first, ...done]);
    expect(order).toEqual(['first', 'partner', 'update 1', 'update 2', 'new vault 1', 'new vault 2']);
  });

  it('a failing task rejects its own promise and the work goes on', async () => {
    const work = new PriorityWork(2);
    const failing = work.run(0, async () => {
      throw new Error('bad bundle');
    });
    const after = work.run(1, async () => 42);
    await expect(failing).rejects.toThrow('bad bundle');
    await expect(after).resolves.toBe(42);
  });
});
