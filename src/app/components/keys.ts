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
export function focusLater(testId: string, within = '', frames = 30) {
  requestAnimationFrame(() => {
    const el = document.querySelector<HTMLElement>(`${within} [data-testid="${testId}"]`.trim());
    // not drawn yet (a slow device: React's render came after this frame): the next frames, for up to ~half a second
    if (el) el.focus();
    else if (frames > 1) focusLater(testId, within, frames - 1);
  });
}

/**
 * A button that goes disabled under the keyboard (nothing left to clear, a write in progress,
 * nothing left to apply) drops the focus to the page: once the page has drawn, the focus goes to
 * the element `testId` names instead, when it is nowhere, on a disabled control, or still on the
 * button `from` that was pressed (the browser may not have moved it yet, or it came back enabled).
 * A field the keyboard was in (Enter in a text field) keeps it.
 */
export function keepFocus(testId: string, from: Element | null = null) {
  requestAnimationFrame(() => {
    const now = document.activeElement;
    const pressed = from instanceof HTMLButtonElement && now === from;
    if (!now || now === document.body || (now as HTMLButtonElement).disabled || pressed) focusLater(testId);
  });
}
