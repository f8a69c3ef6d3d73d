import type { Clock } from '../clock';

/** A clock tests move by hand: timers fire only when `advance` passes them. */
export class ManualClock implements Clock {
  private time = 1_700_000_000_000;
  private timers: { at: number; callback: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, callback, cancelled: false };
    this.timers.push(timer);
    return () => (timer.cancelled = true);
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.time = due.at;
      due.cancelled = true;
      due.callback();
    }
    this.time = until;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }
}
