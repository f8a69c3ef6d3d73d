import { useEffect, useRef, useState } from 'react';
import zxingReaderWasmUrl from 'zxing-wasm/reader/zxing_reader.wasm?url';
import { isPairingCode, parsePairingQr, type PairingCode } from '../../core/pairing/pairingCode';

/**
 * "Join a shop", on the new device: scans the pairing QR code shown by "Add a device" with the
 * camera. Frames are read with the browser's own BarcodeDetector where it has one that reads QR
 * codes, else with the barcode-detector ponyfill (ZXing compiled to WebAssembly), loaded only then.
 * The ZXing wasm is served from the app's own bundle (a Vite `?url` asset, precached by the service
 * worker like every other .wasm), never from zxing-wasm's default CDN: pairing works offline.
 *
 * The camera is stopped as soon as a code is read, when the merchant stops scanning, and when the
 * component goes away.
 */

export const SCANNER_MESSAGES = {
  noCamera: 'No camera was found on this device. Type the pairing code instead.',
  insecure: 'The camera can only be used when Souk is opened over https. Type the pairing code instead.',
  denied:
    'Souk is not allowed to use the camera. Allow the camera for this site in the browser’s settings and try again, or type the pairing code instead.',
  busy: 'The camera could not start: another app may be using it. Close it and try again, or type the pairing code instead.',
  noReader: 'This browser cannot read QR codes. Type the pairing code instead.',
  looking: 'Point the camera at the QR code on your other device.',
  read: 'QR code read.',
} as const;

/** Which reader reads the frames. */
export type ScannerEngine = 'native' | 'polyfill';

interface Detector {
  detect(source: HTMLVideoElement): Promise<readonly { rawValue: string }[]>;
}
interface DetectorClass {
  new (options?: { formats?: string[] }): Detector;
  getSupportedFormats(): Promise<readonly string[]>;
}

/** The browser's BarcodeDetector if it reads QR codes (Chromium has the class on Linux and Windows, with no formats). */
async function nativeDetector(): Promise<Detector | null> {
  const Native = (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  if (!('BarcodeDetector' in globalThis) || typeof Native !== 'function') return null;
  try {
    const formats = await Native.getSupportedFormats();
    return formats.includes('qr_code') ? new Native({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

/** Emscripten's hook for where its files are: the wasm from our bundle, anything else beside the script. */
function locateZXingFile(path: string, prefix: string): string {
  return path.endsWith('.wasm') ? zxingReaderWasmUrl : prefix + path;
}

let ponyfill: Promise<DetectorClass> | undefined;
async function polyfillDetector(): Promise<Detector> {
  ponyfill ??= import('barcode-detector/ponyfill').then(({ BarcodeDetector, prepareZXingModule }) => {
    // Set once, with one function, so the module instance is kept (a new override would drop it).
    prepareZXingModule({ overrides: { locateFile: locateZXingFile }, fireImmediately: false });
    return BarcodeDetector as unknown as DetectorClass;
  });
  ponyfill.catch(() => (ponyfill = undefined));
  const Polyfill = await ponyfill;
  return new Polyfill({ formats: ['qr_code'] });
}

async function makeDetector(): Promise<{ detector: Detector; engine: ScannerEngine }> {
  const native = await nativeDetector();
  return native ? { detector: native, engine: 'native' } : { detector: await polyfillDetector(), engine: 'polyfill' };
}

function cameraProblem(error: unknown): string {
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return SCANNER_MESSAGES.denied;
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return SCANNER_MESSAGES.noCamera;
  if (name === 'NotReadableError' || name === 'AbortError' || name === 'TrackStartError') return SCANNER_MESSAGES.busy;
  return `The camera could not start (${error instanceof Error ? error.message : String(error)}). Type the pairing code instead.`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Session {
  stopped: boolean;
  stream?: MediaStream;
}

type Phase = 'idle' | 'starting' | 'scanning';

export function CodeScanner({ onCode, onCancel }: { onCode(code: PairingCode): void; onCancel?(): void }) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const session = useRef<Session | null>(null);
  const onCodeRef = useRef(onCode);
  onCodeRef.current = onCode;
  const [phase, setPhase] = useState<Phase>('idle');
  const [engine, setEngine] = useState<ScannerEngine | null>(null);
  /** Why scanning stopped or cannot start. */
  const [problem, setProblem] = useState<string | null>(null);
  /** What the camera sees that is not a pairing code; scanning goes on. */
  const [notice, setNotice] = useState<string | null>(null);
  const [read, setRead] = useState(false);

  function stop(s: Session | null = session.current) {
    if (!s) return;
    s.stopped = true;
    s.stream?.getTracks().forEach((track) => track.stop());
    s.stream = undefined;
    if (session.current === s) {
      session.current = null;
      const video = videoRef.current;
      if (video) video.srcObject = null;
    }
  }

  useEffect(() => () => stop(), []);

  async function start() {
    stop();
    const s: Session = { stopped: false };
    session.current = s;
    setProblem(null);
    setNotice(null);
    setRead(false);
    const media = globalThis.navigator?.mediaDevices;
    if (!media?.getUserMedia) {
      session.current = null;
      setProblem(globalThis.isSecureContext === false ? SCANNER_MESSAGES.insecure : SCANNER_MESSAGES.noCamera);
      return;
    }
    setPhase('starting');
    // The reader loads while the merchant answers the camera prompt.
    const reader = makeDetector();
    reader.catch(() => {});
    try {
      const stream = await media.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      s.stream = stream;
      if (s.stopped) return stop(s);
      const video = videoRef.current!;
      video.srcObject = stream;
      await video.play().catch(() => {}); // play() is refused if the preview is detached; frames still come.
    } catch (error) {
      if (s.stopped) return;
      stop(s);
      setPhase('idle');
      setProblem(cameraProblem(error));
      return;
    }
    let detector: Detector;
    try {
      const made = await reader;
      detector = made.detector;
      setEngine(made.engine);
    } catch {
      if (s.stopped) return;
      stop(s);
      setPhase('idle');
      setProblem(SCANNER_MESSAGES.noReader);
      return;
    }
    if (s.stopped) return;
    setPhase('scanning');
    await scan(s, detector);
  }

  async function scan(s: Session, detector: Detector) {
    let failures = 0;
    while (!s.stopped) {
      const video = videoRef.current;
      if (video && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) {
        try {
          const found = await detector.detect(video);
          failures = 0;
          if (s.stopped) return;
          for (const { rawValue } of found) {
            const code = parsePairingQr(rawValue);
            if (isPairingCode(code)) {
              stop(s);
              setPhase('idle');
              setNotice(null);
              setRead(true);
              onCodeRef.current(code);
              return;
            }
            setNotice(code.error);
          }
        } catch {
          // A frame can fail while the video changes size; a reader that keeps failing is broken.
          if (++failures >= 5) {
            if (s.stopped) return;
            stop(s);
            setPhase('idle');
            setProblem(SCANNER_MESSAGES.noReader);
            return;
          }
        }
      }
      await sleep(150);
    }
  }

  function cancel() {
    stop();
    setPhase('idle');
    setNotice(null);
    onCancel?.();
  }

  const active = phase !== 'idle';
  return (
    <section className="code-scanner" aria-label="Scan with the camera" data-scanner={engine ?? undefined} data-phase={phase}>
      <video
        ref={videoRef}
        className="code-scanner-video"
        aria-label="Camera preview"
        muted
        playsInline
        autoPlay
        hidden={!active}
      />
      {active ? (
        <button type="button" onClick={cancel}>
          Stop scanning
        </button>
      ) : (
        <button type="button" onClick={() => void start()}>
          Scan the QR code
        </button>
      )}
      <p role="status" className="hint">
        {phase === 'starting' ? 'Starting the camera…' : phase === 'scanning' ? SCANNER_MESSAGES.looking : read ? SCANNER_MESSAGES.read : ''}
      </p>
      {(problem ?? notice) && <p role="alert">{problem ?? notice}</p>}
    </section>
  );
}
