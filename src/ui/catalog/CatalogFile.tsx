import { downloadFile } from '../downloadFile';
import { useId, useRef, useState } from 'react';
import type { CatalogImportPreview } from '../../core/node/soukNode';
import { CATALOG_CSV_COLUMNS, CATALOG_CSV_MAX_BYTES } from '../../core/catalog/catalogCsv';
import { useNode } from '../nodeContext';
import { errorText, userLocale } from '../format';

/**
 * The catalog as a spreadsheet file, both ways. "Export catalog (CSV)" downloads the whole
 * catalog (node.exportCatalog). Importing a file saves nothing at first: the node plans it
 * (node.previewCatalogImport) and the merchant sees how many products are new, changed and
 * unchanged, what changes, the warnings and every problem by line. Only "Save import" saves
 * (node.importCatalog, which plans again against the catalog as it is then), and never while
 * the file has problems. The work runs in the node's worker, so the page stays responsive.
 */

const ROW = { display: 'flex', gap: '0.5rem', flexWrap: 'wrap', alignItems: 'center' } as const;
const WRAP = { overflowWrap: 'anywhere' } as const;

/** How a field the import changes is named to the merchant. */
const FIELD_NAMES: Record<string, string> = {
  name: 'name',
  unit: 'unit',
  price: 'price',
  stock: 'stock',
  costPrice: 'cost price',
  supplierNotes: 'supplier notes',
  shelf: 'shelf',
  batches: 'batches and expiry',
  offer: 'offer',
};

type Stage =
  | { kind: 'idle' }
  | { kind: 'checking'; fileName: string }
  | { kind: 'preview' | 'saving'; fileName: string; text: string; preview: CatalogImportPreview };

/** "Souk Stall-catalog-2027-01-31.csv" from the shop's name and today's date (the merchant's day). */
export function catalogFileName(shopName: string, now = new Date()): string {
  const name = shopName.normalize('NFKC').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'shop';
  const day = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, '0')).join('-');
  return `${name}-catalog-${day}.csv`;
}

function count(n: number): string {
  try {
    return n.toLocaleString(userLocale());
  } catch {
    return String(n);
  }
}

/** "12 new, 30 changed, 958 unchanged". */
export function previewSummary(preview: Pick<CatalogImportPreview, 'added' | 'changed' | 'unchanged'>): string {
  return `${count(preview.added)} new, ${count(preview.changed)} changed, ${count(preview.unchanged)} unchanged`;
}

function ExportCatalog({ shopName }: { shopName: string }) {
  const { node } = useNode();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  async function exportFile() {
    setBusy(true);
    setMessage('');
    setError('');
    try {
      const text = await node.exportCatalog();
      const fileName = catalogFileName(shopName);
      downloadFile(text, 'text/csv;charset=utf-8', fileName);
      setMessage(`Downloaded ${fileName}. It opens in any spreadsheet and imports back here unchanged.`);
    } catch (e) {
      setError(`The catalog could not be exported: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div>
      <button type="button" onClick={() => void exportFile()} disabled={busy}>
        Export catalog (CSV)
      </button>
      {message && (
        <p role="status" className="hint" style={WRAP}>
          {message}
        </p>
      )}
      {error && <p role="alert">{error}</p>}
    </div>
  );
}

function Preview({ stage, onSave, onCancel }: { stage: Extract<Stage, { kind: 'preview' | 'saving' }>; onSave: () => void; onCancel: () => void }) {
  const id = useId();
  const { preview, fileName } = stage;
  const saving = stage.kind === 'saving';
  const problems = preview.problems.length;
  const nothing = preview.added === 0 && preview.changed === 0;
  const reason = problems
    ? `Nothing can be saved: the file has ${problems === 1 ? 'a problem' : `${count(problems)} problems`} (below). Fix ${problems === 1 ? 'it' : 'them'} in the file and import it again.`
    : nothing
      ? 'Nothing to save: every product in this file is already in your catalog as it is.'
      : `Saving adds ${count(preview.added)} and changes ${count(preview.changed)} products. Products not in the file are left as they are.`;
  return (
    <section aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`} style={{ marginTop: '0.75rem' }}>
      <h3 id={`${id}-title`} style={{ margin: '0 0 0.3rem', fontSize: '1.05rem', ...WRAP }}>
        Import preview: {fileName}
      </h3>
      <p id={`${id}-summary`} style={{ margin: '0 0 0.5rem' }}>
        <strong>{previewSummary(preview)}</strong>
      </p>
      {preview.changedFields.length > 0 && (
        <>
          <h4 style={{ margin: '0.5rem 0 0.2rem' }}>What changes</h4>
          <ul aria-label="Changed products" className="rows" style={WRAP}>
            {preview.changedFields.map((change) => (
              <li key={change.line}>
                Line {change.line}: {change.name} — {change.fields.map((f) => FIELD_NAMES[f] ?? f).join(', ')}
              </li>
            ))}
          </ul>
          {preview.changed > preview.changedFields.length && (
            <p className="hint">…and {count(preview.changed - preview.changedFields.length)} more changed products.</p>
          )}
        </>
      )}
      {preview.warnings.length > 0 && (
        <>
          <h4 style={{ margin: '0.5rem 0 0.2rem' }}>Warnings (they do not stop the import)</h4>
          <ul aria-label="Warnings" className="rows" style={WRAP}>
            {preview.warnings.map((warning, i) => (
              <li key={i}>{warning}</li>
            ))}
          </ul>
        </>
      )}
      {problems > 0 && (
        <div role="alert">
          <h4 style={{ margin: '0.5rem 0 0.2rem' }}>
            {problems === 1 ? 'A problem' : `${count(problems)} problems`} — nothing was saved
          </h4>
          <ul aria-label="Problems" className="rows" style={WRAP}>
            {preview.problems.map((problem, i) => (
              <li key={i}>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      <p id={`${id}-reason`} className="hint">
        {reason}
      </p>
      {saving && (
        <p role="status" style={{ margin: '0 0 0.5rem' }}>
          Saving {count(preview.added)} new and {count(preview.changed)} changed products…{' '}
          <progress aria-label="Import progress" />
        </p>
      )}
      <div style={ROW}>
        <button type="submit" onClick={onSave} disabled={saving || problems > 0 || nothing} aria-describedby={`${id}-reason`}>
          Save import
        </button>
        <button type="button" onClick={onCancel} disabled={saving}>
          Cancel
        </button>
      </div>
    </section>
  );
}

export function CatalogFile({ currency }: { currency: string }) {
  const { node, view } = useNode();
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  /** Each file read gets a number; a slower, older read never overwrites a newer one. */
  const reads = useRef(0);

  async function check(file: File) {
    const read = ++reads.current;
    setMessage('');
    setError('');
    setStage({ kind: 'checking', fileName: file.name });
    try {
      if (file.size > CATALOG_CSV_MAX_BYTES) {
        throw new Error(`${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB; a catalog file may be at most ${CATALOG_CSV_MAX_BYTES / 1024 / 1024} MB. Split it into smaller files.`);
      }
      const text = await file.text();
      const preview = await node.previewCatalogImport(text);
      if (text.includes('\ufffd')) {
        preview.warnings.unshift('Some characters of this file could not be read as UTF-8 (shown as �). In your spreadsheet, save it as "CSV UTF-8".');
      }
      if (read === reads.current) setStage({ kind: 'preview', fileName: file.name, text, preview });
    } catch (e) {
      if (read !== reads.current) return;
      setError(`${file.name} could not be read: ${errorText(e)}`);
      setStage({ kind: 'idle' });
    }
  }

  async function save() {
    if (stage.kind !== 'preview') return;
    const read = ++reads.current;
    setStage({ ...stage, kind: 'saving' });
    try {
      const done = await node.importCatalog(stage.text);
      if (read !== reads.current) return;
      setMessage(`Imported ${stage.fileName}: ${previewSummary(done)}.`);
    } catch (e) {
      if (read !== reads.current) return;
      setError(`Nothing was imported: ${errorText(e)}`);
    }
    setStage({ kind: 'idle' });
  }

  function cancel() {
    reads.current++;
    setStage({ kind: 'idle' });
    setMessage('Import cancelled; nothing was saved.');
  }

  return (
    <div className="card" role="group" aria-label="Catalog file">
      <div style={ROW}>
        <ExportCatalog shopName={view.shop?.name ?? 'shop'} />
      </div>
      <label style={{ marginTop: '0.75rem' }}>
        Import catalog (CSV)
        <input
          type="file"
          accept=".csv,.tsv,.txt,text/csv,text/tab-separated-values,text/plain"
          disabled={stage.kind === 'saving'}
          onChange={(event) => {
            const file = event.currentTarget.files?.[0];
            event.currentTarget.value = '';
            if (file) void check(file);
          }}
        />
      </label>
      <p className="hint" style={WRAP}>
        Columns: {CATALOG_CSV_COLUMNS.join(', ')}. Only name and price are required. Amounts are in {currency}; products are matched by SKU. You see what
        changes before anything is saved.
      </p>
      {stage.kind === 'checking' && (
        <p role="status">
          Checking {stage.fileName}… <progress aria-label="Checking the file" />
        </p>
      )}
      {(stage.kind === 'preview' || stage.kind === 'saving') && <Preview stage={stage} onSave={() => void save()} onCancel={cancel} />}
      {message && (
        <p role="status" style={WRAP}>
          {message}
        </p>
      )}
      {error && (
        <p role="alert" style={{ whiteSpace: 'pre-line', ...WRAP }}>
          {error}
        </p>
      )}
    </div>
  );
}
