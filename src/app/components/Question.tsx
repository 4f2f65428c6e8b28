import type { ReactNode } from 'react';
import { cancelOnEscape } from './keys';

/**
 * A question asked in place (role="alertdialog"): its words, the answers that act (`children`),
 * and Cancel, which has the keyboard first; Escape answers Cancel too. `onCancel` runs for both
 * (it puts the keyboard back on the button that asked).
 */
export function Question({ id, testId, cancelTestId, text, onCancel, children }: { id: string; testId?: string; cancelTestId?: string; text: ReactNode; onCancel: () => void; children: ReactNode }) {
  return (
    <div role="alertdialog" aria-labelledby={id} className="confirm" data-testid={testId} onKeyDown={cancelOnEscape(onCancel)}>
      <p id={id}>{text}</p>
      {children}
      <button type="button" autoFocus data-testid={cancelTestId} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
