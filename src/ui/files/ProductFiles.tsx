import * as Comlink from 'comlink';
import { useId, useRef, useState, type ChangeEvent } from 'react';
import type { Product } from '../../core/vault/vaultDocuments';
import { errorText } from '../format';
import { useNode, useNodeQuery } from '../nodeContext';
import { AttachmentList } from './AttachmentList';
import { fileSize, packageName, readAttachments, type Attachment } from './fileFormat';
import { ProgressBar } from './Progress';
import { makeThumbnail, thumbnailName } from './thumbnail';
import { usePackageUrl, useSeen } from './usePackage';

/** What is being attached: one file of a batch, with the bytes done of it. */
interface Attaching {
  name: string;
  index: number;
  count: number;
  done: number;
  total: number;
  step: 'thumbnail' | 'storing';
}

/** A file picked from a folder keeps its path inside the folder as its name. */
function nameOf(file: File): string {
  return packageName(file.webkitRelativePath || file.name);
}

/**
 * Photos and files of one of the merchant's products, on its editor: "Add photo" (a file, or the
 * camera on a phone; a thumbnail made here), "Attach file" (several at once) and "Attach folder"
 * (each file named by its path in the folder), each with "Share with other shops" (photos shared
 * by default, files not). Files are chunked, hashed and stored by the node as they are attached,
 * not on Save; a progress bar shows each. Then the list with Open, Save and Remove.
 */
export function ProductFiles({ product }: { product: Product }) {
  const { node } = useNode();
  const headingId = useId();
  const [sharePhotos, setSharePhotos] = useState(true);
  const [shareFiles, setShareFiles] = useState(false);
  const [attaching, setAttaching] = useState<Attaching | null>(null);
  const [problem, setProblem] = useState('');
  const [message, setMessage] = useState('');
  const [refresh, setRefresh] = useState(0);
  const running = useRef(0);
  const listed = useNodeQuery((n) => n.packages.attachmentsOf(product.id), [product.id, refresh]);
  const attachments = readAttachments(listed);

  async function attach(files: File[], kind: 'photo' | 'file', shared: boolean) {
    if (files.length === 0) return;
    const attempt = ++running.current;
    setProblem('');
    setMessage('');
    const attached: string[] = [];
    let name = '';
    try {
      for (const [index, file] of files.entries()) {
        name = nameOf(file);
        const base = { name, index: index + 1, count: files.length, done: 0, total: file.size };
        let thumbnail: Blob | undefined;
        if (kind === 'photo') {
          setAttaching({ ...base, step: 'thumbnail' });
          thumbnail = await makeThumbnail(file);
        }
        setAttaching({ ...base, step: 'storing' });
        const current = name;
        const onProgress = Comlink.proxy((done: number, total: number) => {
          if (attempt === running.current) setAttaching((a) => (a && a.name === current ? { ...a, done, total } : a));
        });
        await node.packages.attach(product.id, file, {
          kind,
          shared,
          name,
          ...(thumbnail ? { thumbnail, thumbnailName: thumbnailName(name, thumbnail.type) } : {}),
        }, onProgress);
        attached.push(name);
      }
      setMessage(
        files.length === 1
          ? `${attached[0]} is attached${shared ? ' and shared with other shops' : ''}.`
          : `${attached.length} files attached${shared ? ' and shared with other shops' : ''}.`,
      );
    } catch (error) {
      // The node's own words: a full disk, a name or size it refuses. Nothing half-stored is listed.
      const done = attached.length ? ` (${attached.length} of ${files.length} attached before it)` : '';
      setProblem(`${name || 'The file'} could not be attached${done}: ${errorText(error)}`);
    } finally {
      if (attempt === running.current) setAttaching(null);
      setRefresh((r) => r + 1);
    }
  }

  function picked(kind: 'photo' | 'file', shared: boolean) {
    return (event: ChangeEvent<HTMLInputElement>) => {
      const files = [...(event.currentTarget.files ?? [])];
      event.currentTarget.value = '';
      void attach(files, kind, shared);
    };
  }

  async function remove(attachment: Attachment) {
    await node.packages.detach(product.id, attachment.root);
    setMessage(`${attachment.name} was removed from ${product.name}.`);
    setRefresh((r) => r + 1);
  }

  const busy = attaching !== null;
  const percent = attaching && attaching.step === 'storing' && attaching.total > 0 ? (attaching.done / attaching.total) * 100 : null;
  return (
    <section className="product-files" aria-labelledby={headingId}>
      <h3 id={headingId}>Photos and files of {product.name}</h3>
      <p className="hint">Saved as soon as they are attached (no need to press Save).</p>
      <div className="file-pickers">
        <fieldset>
          <legend>Photos</legend>
          <label>
            Add photo
            <input type="file" accept="image/*" capture="environment" disabled={busy} onChange={picked('photo', sharePhotos)} />
          </label>
          <label className="inline">
            <input type="checkbox" checked={sharePhotos} onChange={(e) => setSharePhotos(e.currentTarget.checked)} />
            Share with other shops
          </label>
        </fieldset>
        <fieldset>
          <legend>Files</legend>
          <label>
            Attach file
            <input type="file" multiple disabled={busy} onChange={picked('file', shareFiles)} />
          </label>
          <label>
            Attach folder
            <input
              type="file"
              multiple
              disabled={busy}
              ref={(input) => input?.setAttribute('webkitdirectory', '')}
              onChange={picked('file', shareFiles)}
            />
          </label>
          <label className="inline">
            <input type="checkbox" checked={shareFiles} onChange={(e) => setShareFiles(e.currentTarget.checked)} />
            Share with other shops
          </label>
        </fieldset>
      </div>
      {attaching && (
        <div role="status" className="package-progress">
          <ProgressBar label={`Attaching ${attaching.name}`} percent={percent} />
          <p className="hint">
            {attaching.step === 'thumbnail' ? 'Making the thumbnail of' : 'Storing'} {attaching.name}
            {attaching.count > 1 && ` (file ${attaching.index} of ${attaching.count})`}
            {percent !== null && `: ${Math.floor(percent)}% of ${fileSize(attaching.total)}`}
          </p>
        </div>
      )}
      {problem && <p role="alert">{problem}</p>}
      {message && !busy && <p role="status">{message}</p>}
      {listed === undefined ? (
        <p className="hint">Loading the files…</p>
      ) : attachments.length === 0 ? (
        <p className="hint">No photos or files yet.</p>
      ) : (
        <AttachmentList label={`Files of ${product.name}`} attachments={attachments} onRemove={remove} showSharing />
      )}
    </section>
  );
}

/** The first photo's thumbnail of one of the merchant's products, for its row in the Catalog. */
export function ProductThumbnail({ product }: { product: Product }) {
  const [ref, seen] = useSeen<HTMLSpanElement>();
  const listed = useNodeQuery((n) => (seen ? n.packages.attachmentsOf(product.id) : Promise.resolve(undefined)), [product.id, seen]);
  const photo = readAttachments(listed).find((a) => a.kind === 'photo' && a.thumbnail);
  const { url } = usePackageUrl(photo?.thumbnail ?? null, seen, 'image/webp');
  return (
    <span ref={ref} className="thumb-slot">
      {url && <img className="thumb" src={url} alt={product.name} />}
    </span>
  );
}
