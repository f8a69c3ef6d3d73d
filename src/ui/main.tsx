import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { connectNode } from '../browser/connectNode';
import { LinkLeader, type LeaderStatus } from '../browser/links/linkLeader';
import { SignalingClient } from '../browser/links/signalingClient';
import type { NodeView } from '../core/node/nodeView';
import { App } from './App';
import { NodeProvider, type NodeRemote } from './nodeContext';
import './styles.css';

function Boot() {
  const [state, setState] = useState<
    { phase: 'starting' } | { phase: 'waiting' } | { phase: 'failed'; message: string } | { phase: 'ready'; node: NodeRemote; view: NodeView }
  >({ phase: 'starting' });
  const [links, setLinks] = useState<LeaderStatus>({ leader: false, signaling: 'idle', present: 0 });

  useEffect(() => {
    let started = false;
    const ready = async (node: NodeRemote) => {
      if (started) return;
      started = true;
      const view = await node.view();
      // For engineers at the console (and the benchmarks): `await soukNode.view()`.
      (globalThis as { soukNode?: NodeRemote }).soukNode = node;
      setState({ phase: 'ready', node, view });
      new LinkLeader(node, SignalingClient.defaultUrl(), setLinks).run();
    };
    connectNode()
      .then(async (connection) => {
        if (connection.mode === 'waiting') {
          setState({ phase: 'waiting' });
          await ready((await connection.ready).node);
        } else await ready(connection.node);
      })
      .catch((error: unknown) => setState({ phase: 'failed', message: error instanceof Error ? error.message : String(error) }));
  }, []);

  if (state.phase === 'starting') return <p className="boot">Opening your shop…</p>;
  if (state.phase === 'waiting') {
    return <p className="boot">Souk is open in another tab of this browser. This tab takes over as soon as that one closes.</p>;
  }
  if (state.phase === 'failed') return <p role="alert" className="boot">Souk could not start: {state.message}</p>;
  return (
    <NodeProvider node={state.node} initial={state.view} links={links}>
      <App />
    </NodeProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Boot />
  </StrictMode>,
);
