import { useEffect } from 'react';
import { radioOwnerFor } from '../../browser/radio/radioOwner';
import { useNode } from '../nodeContext';

/** On load, reconnects the radio this browser remembers where the browser allows it without a tap. */
export function useRadioResume(): void {
  const { node } = useNode();
  useEffect(() => {
    void radioOwnerFor(node).resume().catch(() => {});
  }, [node]);
}
