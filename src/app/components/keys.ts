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

/**
 * A button that goes disabled under the keyboard (nothing left to clear, a write in progress,
 * nothing left to apply) drops the focus to the page: once the page has drawn, the focus goes to
 * the element `testId` names instead, when it is nowhere or on a disabled control.
 */
export function keepFocus(testId: string) {
  requestAnimationFrame(() => {
    const now = document.activeElement;
    if (!now || now === document.body || (now as HTMLButtonElement).disabled) focusLater(testId);
  });
}
