import * as Comlink from 'comlink';
import { useId, useRef, useState, type FormEvent } from 'react';
import { errorText } from '../format';
import { useNode } from '../nodeContext';

/**
 * "Restore from a backup", on a device with no shop: the .soukbackup file, its passphrase and a
 * name for this device. This device becomes the shop's first device (it holds the root key).
 */
export function RestoreShop() {
  const { node } = useNode();
  const headingId = useId();
  const fileId = useId();
  const passId = useId();
  const nameId = useId();
  const [progress, setProgress] = useState<number | null>(null);
  const attempts = useRef(0);
  const running = useRef(false);
  const [problem, setProblem] = useState('');

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const file = data.get('file');
    const passphrase = String(data.get('passphrase') ?? '');
    const deviceName = String(data.get('deviceName') ?? '').trim() || 'Restored device';
    setProblem('');
    if (!(file instanceof File) || file.size === 0) return setProblem('Choose the backup file (it ends in .soukbackup).');
    if (!passphrase) return setProblem('Type the passphrase the backup was made with.');
    setProgress(0);
    // Progress comes over its own channel and may arrive after the answer: only while this attempt runs.
    const attempt = ++attempts.current;
    const onProgress = (share: number) => attempt === attempts.current && running.current && setProgress(Math.max(0, Math.min(1, share)));
    running.current = true;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      await node.restoreBackup(
        Comlink.transfer(bytes, [bytes.buffer]),
        passphrase,
        deviceName,
        Comlink.proxy(onProgress),
      );
    } catch (error) {
      setProblem(errorText(error));
    } finally {
      running.current = false;
      setProgress(null);
    }
  }

  const busy = progress !== null;
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Restore from a backup</h2>
      <p>
        Bring your shop back from the backup file you saved with <strong>Back up this shop</strong>. This device becomes
        the shop’s first device: it can add devices and make backups.
      </p>
      <form aria-label="Restore from a backup" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={fileId}>Backup file</label>
          <input id={fileId} name="file" type="file" accept=".soukbackup,application/octet-stream" required disabled={busy} />
        </div>
        <div className="field">
          <label htmlFor={passId}>Backup passphrase</label>
          <input id={passId} name="passphrase" type="password" autoComplete="current-password" required readOnly={busy} />
        </div>
        <div className="field">
          <label htmlFor={nameId}>Name for this device</label>
          <input id={nameId} name="deviceName" placeholder="Restored device" maxLength={60} readOnly={busy} autoComplete="off" />
        </div>
        {busy && (
          <>
            <progress aria-label="Opening the backup" max={1} value={progress} />
            <p role="status">Unlocking the backup… {Math.round(progress * 100)}%</p>
          </>
        )}
        {problem && <p role="alert">{problem}</p>}
        <button type="submit" disabled={busy}>
          {busy ? 'Restoring…' : 'Restore shop'}
        </button>
      </form>
    </section>
  );
}
