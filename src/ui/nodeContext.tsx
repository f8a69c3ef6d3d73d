import type * as Comlink from 'comlink';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { NodeApi } from '../../workers/nodeHost';
import type { NodeView } from '../core/node/nodeView';
import { NODE_CHANGES_CHANNEL } from '../browser/nodeChannel';
import type { LeaderStatus } from '../browser/links/linkLeader';

export type NodeRemote = Comlink.Remote<NodeApi>;

interface NodeContextValue {
  node: NodeRemote;
  view: NodeView;
  /** Rises each time the node says it changed; hooks refetch on it. */
  revision: number;
  links: LeaderStatus;
}

const NodeContext = createContext<NodeContextValue | undefined>(undefined);

export function useNode(): NodeContextValue {
  const value = useContext(NodeContext);
  if (!value) throw new Error('useNode outside NodeProvider');
  return value;
}

/** Reads from the node whenever it changes. */
export function useNodeQuery<T>(read: (node: NodeRemote) => Promise<T>, deps: unknown[]): T | undefined {
  const { node, revision } = useNode();
  const [value, setValue] = useState<T>();
  useEffect(() => {
    let current = true;
    read(node).then((next) => current && setValue(next), () => {});
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [node, revision, ...deps]);
  return value;
}

export function NodeProvider({
  node,
  initial,
  links,
  children,
}: {
  node: NodeRemote;
  initial: NodeView;
  links: LeaderStatus;
  children: ReactNode;
}) {
  const [view, setView] = useState(initial);
  const [revision, setRevision] = useState(0);
  useEffect(() => {
    const channel = new BroadcastChannel(NODE_CHANGES_CHANNEL);
    let reading = false;
    let again = false;
    const refresh = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        setView(await node.view());
        setRevision((r) => r + 1);
      } finally {
        reading = false;
        if (again) {
          again = false;
          void refresh();
        }
      }
    };
    channel.onmessage = () => void refresh();
    // Peers' "last heard" and link state move without edits: refresh now and then.
    const timer = setInterval(() => void refresh(), 5000);
    void refresh();
    return () => {
      channel.close();
      clearInterval(timer);
    };
  }, [node]);
  return <NodeContext.Provider value={{ node, view, revision, links }}>{children}</NodeContext.Provider>;
}
