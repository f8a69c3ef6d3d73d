/** BroadcastChannel on which the node announces that its state changed. Every tab listens. */
export const NODE_CHANGES_CHANNEL = 'souk-node-changes';
/** Web Lock held by the tab that owns the WebRTC links (and, without SharedWorker, the node). */
export const LINKS_LOCK = 'souk-links-leader';
export const NODE_LOCK = 'souk-node-host';
