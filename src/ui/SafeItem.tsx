import { Component, type ReactNode } from 'react';

interface Props {
  /** Shown instead of the children when they throw while rendering. */
  fallback: ReactNode;
  /** When this changes (new data for the item), the children are tried again. */
  resetKey?: unknown;
  children: ReactNode;
}

interface State {
  failed: boolean;
  resetKey: unknown;
}

/**
 * An error boundary around one list item: an item that cannot be shown becomes a short notice,
 * and the rest of the view goes on working.
 */
export class SafeItem extends Component<Props, State> {
  override state: State = { failed: false, resetKey: this.props.resetKey };

  static getDerivedStateFromError(): Partial<State> {
    return { failed: true };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return Object.is(props.resetKey, state.resetKey) ? null : { failed: false, resetKey: props.resetKey };
  }

  override componentDidCatch(error: unknown): void {
    console.warn('A list item could not be shown:', error);
  }

  override render(): ReactNode {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}
