import * as Comlink from 'comlink';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { ShopView } from '../../core/node/nodeView';
import { errorText } from '../format';
import { useNode } from '../nodeContext';
import { text } from '../safe';

/** The backup's passphrase is at least this long (the backup file refuses shorter ones too). */
export const MIN_PASSPHRASE = 10;

/** "Ada Groceries" on 2025-03-01 → "Ada-Groceries-2025-03-01.soukbackup". */
export function backupFileName(shopName: string, at: Date): string {
  const name =
    shopName
      .normalize('NFC')
      .replace(/[\\/:*?"<>|\p{Cc}]+/gu, ' ')
      .trim()
      .replace(/\s+/g, '-')
      .slice(0, 60) || 'Souk-shop';
  const day = `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`;
  return `${name}-${day}.soukbackup`;
}

/**
 * "Back up this shop" (root device only): a passphrase typed twice, a progress bar while the key
 * is derived, then the encrypted file is downloaded.
 */
export function BackupPanel({ shop }: { shop: ShopView }) {
  const { node } = useNode();
  const headingId = useId();
  const passId = useId();
  const repeatId = useId();
  const errorId = useId();
  const [progress, setProgress] = useState<number | null>(null);
  const attempts = useRef(0);
  const running = useRef(false);
  const [problem, setProblem] = useState('');
  const [saved, setSaved] = useState<{ url: string; name: string } | null>(null);
  useEffect(() => () => void (saved && URL.revokeObjectURL(saved.url)), [saved]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const passphrase = String(data.get('passphrase') ?? '');
    const repeat = String(data.get('repeat') ?? '');
    setProblem('');
    if ([...passphrase].length < MIN_PASSPHRASE) return setProblem(`Choose a longer passphrase: at least ${MIN_PASSPHRASE} characters. A few unrelated words work well.`);
    if (passphrase !== repeat) return setProblem('The two passphrases differ: type the same passphrase twice.');
    setProgress(0);
    // Progress comes over its own channel and may arrive after the answer: only while this attempt runs.
    const attempt = ++attempts.current;
    running.current = true;
    const onProgress = Comlink.proxy((share: number) => attempt === attempts.current && running.current && setProgress(Math.max(0, Math.min(1, share))));
    try {
      const bytes = await node.exportBackup(passphrase, onProgress);
      const name = backupFileName(text(shop.name), new Date());
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      setSaved({ url, name });
      form.reset();
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      setProblem(errorText(error));
    } finally {
      running.current = false;
      setProgress(null);
    }
  }

  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Back up this shop</h2>
      <p className="hint">
        {shop.lastBackupAt === null
          ? 'This shop has never been backed up from this device.'
          : `Last backed up ${new Date(shop.lastBackupAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}.`}
      </p>
      {shop.rootDevice ? (
        <form aria-label="Back up this shop" onSubmit={submit} noValidate>
          <p>
            The backup file holds the whole shop — its key, catalog, stock and private notes — locked with a passphrase.
            Keep the file somewhere other than this device (another phone, a USB stick, your email). Without the passphrase
            nobody can open it, not even you: write it down.
          </p>
          <div className="field">
            <label htmlFor={passId}>Passphrase</label>
            <input id={passId} name="passphrase" type="password" autoComplete="new-password" minLength={MIN_PASSPHRASE} required aria-describedby={problem ? errorId : undefined} />
            <small className="hint">At least {MIN_PASSPHRASE} characters; a few unrelated words work well.</small>
          </div>
          <div className="field">
            <label htmlFor={repeatId}>Repeat the passphrase</label>
            <input id={repeatId} name="repeat" type="password" autoComplete="new-password" required />
          </div>
          {progress !== null && (
            <>
              <progress aria-label="Locking the backup" max={1} value={progress} />
              <p role="status">Locking the backup with your passphrase… {Math.round(progress * 100)}%</p>
            </>
          )}
          {problem && (
            <p id={errorId} role="alert">
              {problem}
            </p>
          )}
          <button type="submit" disabled={progress !== null}>
            {progress !== null ? 'Backing up…' : 'Back up this shop'}
          </button>
          {saved && progress === null && (
            <p role="status">
              Backup saved as <strong>{saved.name}</strong> in your downloads.{' '}
              <a href={saved.url} download={saved.name}>
                Download it again
              </a>
            </p>
          )}
        </form>
      ) : (
        <p>
          Backups are made on the shop’s first device (the one that created the shop or restored it from a backup): the
          backup holds the shop’s root key, which only that device has. This device keeps a full copy of the catalog, so
          it is itself a copy of your shop’s stock and prices.
        </p>
      )}
    </section>
  );
}
