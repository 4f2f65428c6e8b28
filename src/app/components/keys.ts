import type { KeyboardEvent } from 'react';

/**
 * For a question asked in place (role="alertdialog"): Escape answers Cancel, as in a dialog, and
 * goes no further (the Draw view's Escape clears the drawing).
 */
export function cancelOnEscape(cancel: () => void) {
  return (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return;
    e.stopPropagation();
    cancel();
  };
}

/** Keyboard focus back on the element `testId` names once the page has drawn (a question answered: its opener). */
export function focusLater(testId: string) {
  requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-testid="${testId}"]`)?.focus());
}
