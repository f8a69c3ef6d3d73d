import { useEffect, useRef, useState } from 'react';
import { useNodeQuery } from '../nodeContext';
import { AttachmentList } from './AttachmentList';
import { readAttachments, type Attachment } from './fileFormat';
import { PackageProgressView } from './Progress';
import { usePackageUrl, useSeen } from './usePackage';

/**
 * The full photo in a dialog: fetched when opened (a progress bar meanwhile), shown once
 * complete; its object URL is revoked when the dialog closes.
 */
function PhotoDialog({ photo, productName, preview, onClose }: { photo: Attachment; productName: string; preview: string | null; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const { url, progress, error } = usePackageUrl(photo.root, true, photo.mediaType);
  useEffect(() => {
    const element = dialog.current;
    // Taken out of the page when the component goes, the dialog closes with it.
    if (element && !element.open) element.showModal();
  }, []);
  return (
    <dialog ref={dialog} className="photo-dialog" aria-label={`Photo of ${productName}`} onClose={onClose}>
      <h2>{productName}</h2>
      {url ? (
        <img src={url} alt={`${productName}, full photo`} />
      ) : (
        <>
          {/* The thumbnail, enlarged, while the full photo comes. */}
          {preview && <img src={preview} alt="" className="preview" />}
          <PackageProgressView label={`Fetching the photo of ${productName}`} progress={progress} />
          {error && <p role="alert">{error}</p>}
        </>
      )}
      <div className="file-actions">
        <button type="button" onClick={() => dialog.current?.close()} autoFocus>
          Close
        </button>
      </div>
    </dialog>
  );
}

/** One photo's thumbnail, fetched as soon as the offer is seen; a tap shows the full photo. */
function OfferPhoto({ photo, productName, alt, seen }: { photo: Attachment; productName: string; alt: string; seen: boolean }) {
  const { url } = usePackageUrl(photo.thumbnail, seen, 'image/webp');
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="thumb-button" onClick={() => setOpen(true)} aria-haspopup="dialog">
        {url ? <img className="thumb" src={url} alt={alt} /> : <span className="thumb placeholder">{alt} (loading)</span>}
      </button>
      {open && <PhotoDialog photo={photo} productName={productName} preview={url} onClose={() => setOpen(false)} />}
    </>
  );
}

/**
 * An offer's photos and shared files, from the node (packages.offerAttachments, or for the
 * merchant's own offer the shared ones of attachmentsOf), asked for once the offer is near the
 * screen and again whenever the node changes.
 */
export function OfferFiles({ vaultId, productId, productName, own }: { vaultId: string; productId: string; productName: string; own: boolean }) {
  const [ref, seen] = useSeen<HTMLDivElement>();
  const listed = useNodeQuery(
    async (node) => {
      if (!seen || !vaultId || !productId) return undefined;
      if (!own) return node.packages.offerAttachments(vaultId, productId);
      return (await node.packages.attachmentsOf(productId)).filter((a) => a.shared);
    },
    [seen, vaultId, productId, own],
  );
  const attachments = readAttachments(listed);
  const photos = attachments.filter((a) => a.kind === 'photo');
  const files = attachments.filter((a) => a.kind === 'file');
  // The photos come first in the card (styles.css puts them above the name), the files where this sits.
  return (
    <>
      <div ref={ref} className="offer-photos">
        {photos.map((photo, i) => (
          <OfferPhoto key={photo.root} photo={photo} productName={productName} alt={i === 0 ? `${productName} photo` : `${productName} photo ${i + 1}`} seen={seen} />
        ))}
      </div>
      <AttachmentList label={`Files of ${productName}`} attachments={files} />
    </>
  );
}
