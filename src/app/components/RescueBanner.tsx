import { useState } from 'react';
import { useApp } from '../store';

/** Download a text as a file (export, rescued copy). */
export function downloadText(text: string, name: string): void {
  const blob = new Blob([text], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/**
 * Download this memory's file (`make` writes its text): a memory too large for one file, or any
 * other failure, is said on the banner instead of a button that silently does nothing.
 */
export function downloadMemoryFile(make: () => string, name: string): boolean {
  try {
    downloadText(make(), name);
    return true;
  } catch (e) {
    useApp.getState().setMessage({ kind: 'error', text: `no file was written: ${e instanceof Error ? e.message : String(e)}`, tab: null });
    return false;
  }
}

/** A saved memory that could not be restored was kept aside: say so and offer it as a file. */
export function RescueBanner() {
  const rescued = useApp((s) => s.rescued);
  const rescuedText = useApp((s) => s.rescuedText);
  const [error, setError] = useState<string | null>(null);
  const [hidden, setHidden] = useState(false);
  if (!rescued || hidden) return null;
  return (
    <div className="message warning rescue" role="alert" data-testid="rescue">
      <span>
        Your earlier memory could not be opened ({rescued.reason}). It is kept aside in this browser, unchanged. Download it to keep
        it or to send it to someone who can repair it.
      </span>
      <button
        type="button"
        data-testid="rescue-download"
        onClick={() =>
          void rescuedText()
            .then((t) => downloadText(t, `memory-lab-kept-aside-${rescued.key}.json`))
            .catch((e) => setError(e instanceof Error ? e.message : String(e)))
        }
      >
        Download the saved copy
      </button>
      <button type="button" aria-label="hide this notice" onClick={() => setHidden(true)}>
        ×
      </button>
      {error && <span className="error">{error}</span>}
    </div>
  );
}
