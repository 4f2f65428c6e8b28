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

/**
 * Keyboard focus on the element `testId` names (within `within`, a CSS selector, when given) once the
 * page has drawn: a question answered goes back to its opener, a row deleted to the banner's Undo.
 */
export function focusLater(testId: string, within = '') {
  requestAnimationFrame(() => document.querySelector<HTMLElement>(`${within} [data-testid="${testId}"]`.trim())?.focus());
}
