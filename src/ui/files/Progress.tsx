import type { PackageProgress } from '../../core/packages/packageView';
import { text } from '../safe';
import { percentDone, progressText } from './fileFormat';

/**
 * A progress bar screen readers read: role progressbar, its label, and aria-valuenow in percent
 * (none while the share is unknown), with the details as its value text.
 */
export function ProgressBar({ label, percent, valueText }: { label: string; percent: number | null; valueText?: string }) {
  const value = percent === null ? null : Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <div
      className={value === null ? 'progress-bar unknown' : 'progress-bar'}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      {...(value === null ? {} : { 'aria-valuenow': value })}
      {...(valueText ? { 'aria-valuetext': valueText } : {})}
    >
      <span style={{ width: value === null ? undefined : `${value}%` }} />
    </div>
  );
}

/** A package being fetched: the bar, then percent, speed, time left and peers serving, and what is wrong if anything. */
export function PackageProgressView({ label, progress }: { label: string; progress: PackageProgress | null }) {
  if (!progress) {
    return (
      <div className="package-progress">
        <ProgressBar label={label} percent={null} valueText="asking peers" />
        <p className="hint">Asking the shops you are linked to…</p>
      </div>
    );
  }
  const details = progressText(progress);
  const problem = text(progress.problem);
  return (
    <div className="package-progress">
      <ProgressBar label={label} percent={percentDone(progress)} valueText={details} />
      <p className="hint">{details}</p>
      {problem && (
        <p className="warn-text" role={progress.state === 'failed' ? 'alert' : undefined}>
          {problem}
        </p>
      )}
    </div>
  );
}
