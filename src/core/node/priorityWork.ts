/**
 * Work done one task at a time, the most urgent first: the node takes peers' vault versions
 * this way, so an update of a vault the merchant already carries (or trusts) never waits
 * behind a stream of new vaults from a stranger. Each link has at most one task waiting, so the
 * queue is bounded by the number of links.
 */
export class PriorityWork {
  private readonly waiting: (() => Promise<void>)[][];
  private running = false;

  constructor(levels: number) {
    this.waiting = Array.from({ length: levels }, () => []);
  }

  get size(): number {
    return this.waiting.reduce((n, level) => n + level.length, 0);
  }

  /** Runs `task` after every more urgent (lower `priority`) task and every earlier one of the same priority. */
  run<T>(priority: number, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const level = this.waiting[Math.max(0, Math.min(this.waiting.length - 1, priority))]!;
      level.push(() => task().then(resolve, reject));
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const next = this.waiting.find((level) => level.length > 0)?.shift();
        if (!next) break;
        await next();
      }
    } finally {
      this.running = false;
    }
  }
}
