import { useState } from 'react';
import { errorText } from '../format';
import { fileSize, opensSafely, saveName, typeName, type Attachment } from './fileFormat';
import { PackageProgressView } from './Progress';
import { useFileAction } from './usePackage';

/** One attachment: name, size, type, Open and Save (fetching it first if need be), and Remove on the merchant's own. */
function AttachmentRow({ attachment, onRemove, showSharing }: { attachment: Attachment; onRemove?: (a: Attachment) => Promise<void>; showSharing: boolean }) {
  const { name, mediaType, size } = attachment;
  const inline = opensSafely(mediaType);
  const { state, start, cancel } = useFileAction(attachment.root, name, mediaType, inline, saveName(name));
  const [removing, setRemoving] = useState(false);
  const [removeError, setRemoveError] = useState('');
  const fetching = state.phase === 'fetching';
  return (
    <li className="attachment">
      <span className="attachment-name">{name}</span>
      <span className="hint">
        {fileSize(size)} · {typeName(mediaType)}
        {attachment.kind === 'photo' && ' · photo'}
        {showSharing && (attachment.shared ? ' · shared with other shops' : ' · only your devices')}
      </span>
      <div className="file-actions">
        <button type="button" className="small" aria-label={`Open ${name}`} disabled={fetching} onClick={() => void start('open')}>
          Open
        </button>
        <button type="button" className="small" aria-label={`Save ${name}`} disabled={fetching} onClick={() => void start('save')}>
          Save
        </button>
        {onRemove && (
          <button
            type="button"
            className="small danger"
            aria-label={`Remove ${name}`}
            disabled={removing}
            onClick={() => {
              setRemoving(true);
              setRemoveError('');
              onRemove(attachment).catch((e: unknown) => {
                setRemoveError(`${name} could not be removed: ${errorText(e)}`);
                setRemoving(false);
              });
            }}
          >
            Remove
          </button>
        )}
      </div>
      {!inline && <small className="hint">Opening saves it: this kind of file is not shown inside Souk.</small>}
      {fetching && (
        <>
          <PackageProgressView label={`Fetching ${name}`} progress={state.progress} />
          <button type="button" className="small" aria-label={`Cancel fetching ${name}`} onClick={cancel}>
            Cancel
          </button>
        </>
      )}
      {state.phase === 'done' && state.action === 'open' && inline && (
        <p role="status" className="hint">
          {state.blocked ? 'Ready: ' : 'Opened in a new tab. '}
          <a href={state.url} target="_blank" rel="noopener">
            {state.blocked ? `open ${name}` : 'Open it again'}
          </a>
        </p>
      )}
      {state.phase === 'done' && (state.action === 'save' || !inline) && (
        <p role="status" className="hint">
          Saved to your downloads.{' '}
          <a href={state.url} download={saveName(name)}>
            Save it again
          </a>
        </p>
      )}
      {state.phase === 'failed' && <p role="alert">{state.message}</p>}
      {removeError && <p role="alert">{removeError}</p>}
    </li>
  );
}

export function AttachmentList({
  label,
  attachments,
  onRemove,
  showSharing = false,
}: {
  label: string;
  attachments: Attachment[];
  onRemove?: (a: Attachment) => Promise<void>;
  showSharing?: boolean;
}) {
  if (attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label={label}>
      {attachments.map((attachment) => (
        <AttachmentRow key={attachment.root} attachment={attachment} onRemove={onRemove} showSharing={showSharing} />
      ))}
    </ul>
  );
}
