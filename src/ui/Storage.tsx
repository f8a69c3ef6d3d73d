import { useEffect, useId, useState, type FormEvent } from 'react';
import type { PackageProgress, PackageSettings, StorageUse } from '../core/packages/packageView';
import { Field, FormAlert, messageFor, problemOf, type FormProblem } from './fields';
import { PackageProgressView } from './files/Progress';
import { fileSize, ROOT } from './files/fileFormat';
import { errorText } from './format';
import { useNode, useNodeQuery } from './nodeContext';
import { finite, list, text } from './safe';

/** What the browser says of this site's storage; null where it cannot say. */
interface BrowserStorage {
  usage: number | null;
  quota: number | null;
  persisted: boolean | null;
}

async function browserStorage(): Promise<BrowserStorage> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  const [estimate, persisted] = await Promise.all([
    storage?.estimate ? storage.estimate().catch(() => null) : null,
    storage?.persisted ? storage.persisted().catch(() => null) : null,
  ]);
  return { usage: estimate?.usage ?? null, quota: estimate?.quota ?? null, persisted };
}

/** "1.2 GiB" past a GiB, else fileSize's units. */
function amount(count: number | null): string {
  if (count === null) return 'unknown';
  return count >= 1024 ** 3 ? `${(count / 1024 ** 3).toFixed(1)} GiB` : fileSize(count);
}

function Usage() {
  const { node } = useNode();
  const headingId = useId();
  const use = useNodeQuery((n) => n.packages.storageUse(), []);
  const [browser, setBrowser] = useState<BrowserStorage | null>(null);
  const [persistAnswer, setPersistAnswer] = useState('');
  const [freed, setFreed] = useState('');
  const [freeing, setFreeing] = useState(false);
  const [freeError, setFreeError] = useState('');
  const [shown, setShown] = useState<StorageUse | undefined>();
  useEffect(() => setShown(use), [use]);
  useEffect(() => {
    void browserStorage().then(setBrowser);
  }, [use, persistAnswer, freed]);

  async function persist() {
    setPersistAnswer('');
    try {
      if (!navigator.storage?.persist) throw new Error('this browser cannot be asked');
      const granted = await navigator.storage.persist();
      setPersistAnswer(
        granted
          ? 'Granted: the browser will not clear Souk’s data to make room. Only you can, by clearing this site’s data.'
          : 'The browser said no for now. Browsers grant it to sites used often or installed (Add to Home screen); keep a backup of your shop meanwhile.',
      );
    } catch (error) {
      setPersistAnswer(`The browser could not be asked: ${errorText(error)}`);
    }
  }

  async function freeCached() {
    setFreeing(true);
    setFreed('');
    setFreeError('');
    try {
      const bytes = finite(await node.packages.freeCachedFiles());
      setFreed(bytes > 0 ? `Freed ${amount(bytes)} of other shops’ files.` : 'There were no cached files of other shops to free.');
      setShown(await node.packages.storageUse());
    } catch (error) {
      setFreeError(`Cached files could not be freed: ${errorText(error)}`);
    } finally {
      setFreeing(false);
    }
  }

  const ownCount = finite(shown?.packages?.own);
  const cachedCount = finite(shown?.packages?.cached);
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Space on this device</h2>
      {shown === undefined ? (
        <p>Measuring…</p>
      ) : (
        <dl className="facts" aria-label="Space used">
          <dt>Your own files</dt>
          <dd>
            {amount(finite(shown.ownFilesBytes))} ({ownCount} {ownCount === 1 ? 'file' : 'files'}, never removed to make room)
          </dd>
          <dt>Other shops’ files kept here</dt>
          <dd>
            {amount(finite(shown.cachedFilesBytes))} ({cachedCount} {cachedCount === 1 ? 'file' : 'files'}; budget {amount(finite(shown.cacheBudgetBytes))})
          </dd>
          <dt>Shop data (your shop and others’ offers)</dt>
          <dd>{amount(finite(shown.vaultBytes))}</dd>
          <dt>Used by this site in the browser</dt>
          <dd>
            {browser === null ? 'Measuring…' : browser.usage === null ? 'The browser does not say' : `${amount(browser.usage)} of ${amount(browser.quota)} allowed`}
          </dd>
          <dt>Persistent storage</dt>
          <dd>
            {browser === null
              ? 'Checking…'
              : browser.persisted === null
                ? 'The browser does not say'
                : browser.persisted
                  ? 'Yes: the browser keeps Souk’s data even when space runs low'
                  : 'No: the browser may clear Souk’s data when the device runs out of space'}
          </dd>
        </dl>
      )}
      <div className="file-actions">
        <button type="button" onClick={() => void persist()}>
          Keep my data (persistent storage)
        </button>
        <button type="button" className="danger" disabled={freeing} onClick={() => void freeCached()}>
          Free cached files
        </button>
      </div>
      {persistAnswer && <p role="status">{persistAnswer}</p>}
      {freed && <p role="status">{freed}</p>}
      {freeError && <p role="alert">{freeError}</p>}
      <p className="hint">Freeing removes only other shops’ files kept here; your own files stay. They are fetched again when you open them.</p>
    </section>
  );
}

const KIB = 1024;
const MIB = 1024 * 1024;
const SETTING_FIELDS = ['Upload cap', 'Cache budget'] as const;

function Settings() {
  const { node } = useNode();
  const headingId = useId();
  const current = useNodeQuery((n) => n.packages.settings(), []);
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [saved, setSaved] = useState('');
  const [saving, setSaving] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setProblem(null);
    setSaved('');
    const cap = Number(String(form.get('uploadCap') ?? '').trim() || 0);
    const budget = Number(String(form.get('cacheBudget') ?? '').trim());
    if (!Number.isFinite(cap) || cap < 0) return setProblem({ field: 'Upload cap', message: 'Upload cap must be a number of KB/s, 0 for none.' });
    if (!Number.isFinite(budget) || budget < 0) return setProblem({ field: 'Cache budget', message: 'Cache budget must be a number of MB.' });
    const next: Partial<PackageSettings> = {
      serveOthersFiles: form.get('serveOthers') === 'on',
      uploadCapBytesPerSecond: Math.round(cap * KIB),
      cacheBudgetBytes: Math.round(budget * MIB),
    };
    setSaving(true);
    try {
      await node.packages.updateSettings(next);
      setSaved(`Saved at ${new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}.`);
    } catch (error) {
      setProblem(problemOf(error, SETTING_FIELDS));
    } finally {
      setSaving(false);
    }
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Sharing files</h2>
      {current === undefined ? (
        <p>Loading…</p>
      ) : (
        <form aria-label="File settings" onSubmit={submit} key={JSON.stringify(current)}>
          <label className="inline">
            <input type="checkbox" name="serveOthers" defaultChecked={current.serveOthersFiles} />
            Serve other shops' files
          </label>
          <p className="hint">Your own shared files are always served to the shops that ask. Other shops’ files kept here help them reach more buyers.</p>
          <Field
            label="Upload cap (KB/s, 0 = none)"
            error={messageFor(problem, 'Upload cap')}
            hint="How fast this device sends files to others. Lower it on a metered connection."
            control={(props) => (
              <input {...props} name="uploadCap" type="number" min="0" step="any" inputMode="decimal" defaultValue={Math.round(current.uploadCapBytesPerSecond / KIB)} />
            )}
          />
          <Field
            label="Cache budget (MB)"
            error={messageFor(problem, 'Cache budget')}
            hint="Past this, the other shops’ files used least recently are removed first."
            control={(props) => (
              <input {...props} name="cacheBudget" type="number" min="0" step="any" inputMode="decimal" defaultValue={Math.round(current.cacheBudgetBytes / MIB)} />
            )}
          />
          <FormAlert problem={problem} />
          <button type="submit" disabled={saving}>
            Save settings
          </button>
          {saved && (
            <p role="status" aria-label="Settings saved">
              {saved}
            </p>
          )}
        </form>
      )}
    </section>
  );
}

/** A download as listed, its fields read as unchecked. */
function readDownload(value: unknown): PackageProgress | null {
  if (!value || typeof value !== 'object') return null;
  const p = value as Partial<Record<keyof PackageProgress, unknown>>;
  const root = text(p.root);
  if (!ROOT.test(root)) return null;
  const state = p.state === 'downloading' || p.state === 'complete' || p.state === 'failed' ? p.state : 'missing';
  return {
    root,
    name: text(p.name) || 'Unnamed file',
    mediaType: text(p.mediaType),
    size: finite(p.size),
    state,
    bytesDone: finite(p.bytesDone),
    bytesPerSecond: finite(p.bytesPerSecond),
    secondsLeft: typeof p.secondsLeft === 'number' && Number.isFinite(p.secondsLeft) ? p.secondsLeft : null,
    peersServing: finite(p.peersServing),
    problem: text(p.problem) || null,
    own: p.own === true,
  };
}

function Downloads() {
  const { node } = useNode();
  const headingId = useId();
  const [tick, setTick] = useState(0);
  const [error, setError] = useState('');
  const listed = useNodeQuery((n) => n.packages.downloads(), [tick]);
  const downloads = list<unknown>(listed).map(readDownload).filter((d): d is PackageProgress => d !== null);
  const active = downloads.some((d) => d.state === 'downloading');
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), active ? 1000 : 5000);
    return () => clearInterval(timer);
  }, [active]);
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Downloads</h2>
      {listed === undefined ? (
        <p>Loading…</p>
      ) : downloads.length === 0 ? (
        <p className="hint">No files are being fetched.</p>
      ) : (
        <ul className="attachments" aria-label="Downloads">
          {downloads.map((download) => (
            <li key={download.root} className="attachment">
              <span className="attachment-name">{download.name}</span>
              <PackageProgressView label={`Download of ${download.name}`} progress={download} />
              {download.state !== 'complete' && (
                <div className="file-actions">
                  <button
                    type="button"
                    className="small"
                    aria-label={`Cancel download of ${download.name}`}
                    onClick={() =>
                      node.packages.cancel(download.root).then(
                        () => setTick((t) => t + 1),
                        (e: unknown) => setError(errorText(e)),
                      )
                    }
                  >
                    Cancel
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {error && <p role="alert">{error}</p>}
    </section>
  );
}

/** The Storage view: what files and shop data use here, the browser's quota, file sharing settings, downloads. */
export function Storage() {
  return (
    <section aria-label="Storage">
      <Usage />
      <Settings />
      <Downloads />
    </section>
  );
}
