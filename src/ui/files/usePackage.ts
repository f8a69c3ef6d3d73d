import { useCallback, useEffect, useRef, useState } from 'react';
import type { PackageProgress } from '../../core/packages/packageView';
import { errorText } from '../format';
import { useNode } from '../nodeContext';

/** How often a package being fetched is asked about. */
export const POLL_MS = 500;
/** A package no peer could give is asked for again, waiting longer each time up to this. */
const MAX_RETRY_MS = 15_000;

/**
 * Whether an element has come near the screen (and stays so once it has): offers and products
 * fetch their thumbnails only when the merchant can see them.
 */
export function useSeen<T extends Element>(): [(element: T | null) => void, boolean] {
  const [seen, setSeen] = useState(typeof IntersectionObserver === 'undefined');
  const observer = useRef<IntersectionObserver | null>(null);
  const ref = useCallback((element: T | null) => {
    observer.current?.disconnect();
    observer.current = null;
    if (!element || typeof IntersectionObserver === 'undefined') return;
    observer.current = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) {
          setSeen(true);
          observer.current?.disconnect();
        }
      },
      { rootMargin: '200px' },
    );
    observer.current.observe(element);
  }, []);
  useEffect(() => () => observer.current?.disconnect(), []);
  return [ref, seen];
}

export interface PackageUrl {
  /** An object URL of the whole package, once it is complete here; revoked when no longer used. */
  url: string | null;
  /** The latest progress while it is fetched. */
  progress: PackageProgress | null;
  error: string;
}

/**
 * A package shown in the page (a thumbnail, a photo): fetched when `active` (node.packages.fetch,
 * which starts or resumes), followed until complete, then made a Blob of its chunks in the node
 * (node.packageBlob, storage-backed) and an object URL here. A package no peer serves yet is asked
 * for again, less and less often. The URL is revoked when the root changes or the component goes.
 */
export function usePackageUrl(root: string | null, active: boolean, mediaType: string): PackageUrl {
  const { node } = useNode();
  const [state, setState] = useState<PackageUrl>({ url: null, progress: null, error: '' });
  useEffect(() => {
    if (!root || !active) return;
    let stopped = false;
    let url: string | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let retry = 1000;
    const step = async (ask: 'fetch' | 'progress') => {
      try {
        const progress = ask === 'fetch' ? await node.packages.fetch(root) : await node.packages.progress(root);
        if (stopped) return;
        if (progress.state === 'complete') {
          const blob = await node.packageBlob(root, mediaType);
          if (stopped) return;
          url = URL.createObjectURL(blob);
          setState({ url, progress, error: '' });
          return;
        }
        setState({ url: null, progress, error: '' });
        if (progress.state === 'downloading') {
          retry = 1000;
          timer = setTimeout(() => void step('progress'), POLL_MS);
        } else {
          timer = setTimeout(() => void step('fetch'), retry);
          retry = Math.min(MAX_RETRY_MS, retry * 2);
        }
      } catch (error) {
        if (stopped) return;
        setState((s) => ({ ...s, error: errorText(error) }));
        timer = setTimeout(() => void step('fetch'), retry);
        retry = Math.min(MAX_RETRY_MS, retry * 2);
      }
    };
    void step('fetch');
    return () => {
      stopped = true;
      clearTimeout(timer);
      if (url) URL.revokeObjectURL(url);
      setState({ url: null, progress: null, error: '' });
    };
  }, [node, root, active, mediaType]);
  return state;
}

export type FileActionState =
  | { phase: 'idle' }
  | { phase: 'fetching'; action: 'open' | 'save'; progress: PackageProgress | null }
  | { phase: 'done'; action: 'open' | 'save'; url: string; blocked: boolean }
  | { phase: 'failed'; message: string };

/**
 * Open and Save of one attachment. Both fetch the package first if it is not complete here
 * (progress polled), then make an object URL of the node's storage-backed Blob: Open shows it
 * in a new tab (only types that run nothing of the file's, else it is saved: fileFormat's
 * opensSafely), Save downloads it through an `<a download>`. The URL is revoked when the next
 * action starts or the component goes.
 */
export function useFileAction(root: string, name: string, mediaType: string, opensInline: boolean, saveAs: string) {
  const { node } = useNode();
  const [state, setState] = useState<FileActionState>({ phase: 'idle' });
  const run = useRef(0);
  const url = useRef<string | null>(null);
  const release = () => {
    if (url.current) URL.revokeObjectURL(url.current);
    url.current = null;
  };
  useEffect(
    () => () => {
      run.current++;
      release();
    },
    [],
  );

  const start = useCallback(
    async (action: 'open' | 'save') => {
      const current = ++run.current;
      release();
      setState({ phase: 'fetching', action, progress: null });
      try {
        let progress = await node.packages.fetch(root);
        while (progress.state !== 'complete') {
          if (progress.state === 'failed') throw new Error(progress.problem || 'No shop could give this file.');
          setState({ phase: 'fetching', action, progress });
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          if (run.current !== current) return;
          progress = await node.packages.progress(root);
        }
        const blob = await node.packageBlob(root, mediaType);
        if (run.current !== current) return;
        // A type that could run in this app's origin is never shown as a page: plain bytes, saved.
        const inline = action === 'open' && opensInline;
        url.current = URL.createObjectURL(inline ? blob : new Blob([blob], { type: 'application/octet-stream' }));
        let blocked = false;
        if (inline) {
          // Blocked when the click is long past (a long download): the merchant gets a link to tap.
          const tab = window.open(url.current, '_blank');
          if (tab) tab.opener = null;
          else blocked = true;
        } else {
          const link = document.createElement('a');
          link.href = url.current;
          link.download = saveAs;
          link.hidden = true;
          document.body.append(link);
          link.click();
          link.remove();
        }
        setState({ phase: 'done', action, url: url.current, blocked });
      } catch (error) {
        if (run.current === current) setState({ phase: 'failed', message: `${name} could not be ${action === 'open' ? 'opened' : 'saved'}: ${errorText(error)}` });
      }
    },
    [node, root, name, mediaType, opensInline, saveAs],
  );

  /** Stops fetching: what is verified stays for later. */
  const cancel = useCallback(() => {
    run.current++;
    void node.packages.cancel(root).catch(() => {});
    setState({ phase: 'idle' });
  }, [node, root]);

  return { state, start, cancel };
}
