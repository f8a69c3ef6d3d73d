import { useEffect, useId, useMemo, useRef, useState } from 'react';
import QRCode from 'qrcode';
import { pairingQrText, type PairingCode } from '../../core/pairing/pairingCode';

/**
 * "Add a device", on the device that already has the shop: the pairing code as a QR code for the
 * new device's camera, the same code as text to type, a Copy button, and how long the code is good
 * for. The QR code is drawn here from qrcode's module matrix (no network, no canvas).
 */
export function PairingQr({ code, expiresAt, onCancel }: { code: PairingCode; expiresAt: number; onCancel(): void }) {
  const headingId = useId();
  const qrText = pairingQrText(code);
  const path = useMemo(() => qrPath(qrText), [qrText]);
  const left = useSecondsLeft(expiresAt);
  const expired = left <= 0;
  const [copied, setCopied] = useState<'copied' | 'failed' | null>(null);
  const codeRef = useRef<HTMLElement>(null);
  useEffect(() => setCopied(null), [code.text]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(code.text);
      setCopied('copied');
    } catch {
      // No clipboard (insecure context, or refused): select the code so the merchant can copy it.
      const node = codeRef.current;
      const selection = globalThis.getSelection?.();
      if (node && selection) {
        selection.removeAllRanges();
        const range = document.createRange();
        range.selectNodeContents(node);
        selection.addRange(range);
      }
      setCopied('failed');
    }
  }

  return (
    <section className="card pairing-qr" aria-labelledby={headingId}>
      <h2 id={headingId}>Add a device</h2>
      {expired ? (
        <p role="alert">This code has expired. Cancel, then choose “Add a device” again for a new code.</p>
      ) : (
        <>
          <p>
            On the new device, open Souk, choose <strong>Join a shop</strong> and scan this QR code, or type the code
            below it.
          </p>
          <svg
            className="pairing-qr-image"
            role="img"
            aria-label="Pairing QR code"
            viewBox={`0 0 ${path.span} ${path.span}`}
            shapeRendering="crispEdges"
          >
            <rect width={path.span} height={path.span} fill="#fff" />
            <path d={path.d} fill="#000" />
          </svg>
          <p className="pairing-code-line">
            <span className="pairing-code-label">Pairing code</span>
            <code ref={codeRef} className="pairing-code">
              {code.text}
            </code>
          </p>
          <p className="pairing-expiry" role="timer" aria-live="off">
            {`Expires in ${formatLeft(left)}`}
          </p>
        </>
      )}
      <div className="pairing-actions">
        {!expired && (
          <button type="button" onClick={() => void copy()}>
            Copy code
          </button>
        )}
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <p role="status" className="hint">
        {copied === 'copied' ? 'Code copied' : copied === 'failed' ? 'Could not copy: the code is selected, copy it from the menu' : ''}
      </p>
    </section>
  );
}

/** Whole seconds until `expiresAt` (never negative), ticking once a second on the second. */
function useSecondsLeft(expiresAt: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      const t = Date.now();
      setNow(t);
      // The shown seconds change when expiresAt - now crosses a whole second: wake just after that.
      const rest = (expiresAt - t) % 1000;
      if (t < expiresAt) timer = setTimeout(tick, (rest === 0 ? 1000 : rest) + 5);
    };
    tick();
    return () => clearTimeout(timer);
  }, [expiresAt]);
  return Math.max(0, Math.ceil((expiresAt - now) / 1000));
}

/** "4:32", "0:05", "1:02:00". */
export function formatLeft(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One SVG path of the dark modules (runs along each row), with a 4-module quiet zone. */
function qrPath(text: string): { d: string; span: number } {
  const quiet = 4;
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const parts: string[] = [];
  for (let row = 0; row < modules.size; row++) {
    let col = 0;
    while (col < modules.size) {
      if (!modules.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < modules.size && modules.get(row, col)) col++;
      parts.push(`M${start + quiet} ${row + quiet}h${col - start}v1h${start - col}z`);
    }
  }
  return { d: parts.join(''), span: modules.size + 2 * quiet };
}
