import { useState } from 'react';
import { useApp } from '../store';
import type { LabelInfo } from '../types';
import { downloadText } from './RescueBanner';
import { SharePanel } from './SharePanel';

const NO_LABELS: LabelInfo[] = [];
const MAX_ROWS = 300;

/** Labels with their slot counts: rename, delete (frees its slots), clear the whole memory. */
export function LabelsPanel() {
  const labels = useApp((s) => s.summary?.labels ?? NO_LABELS);
  const rename = useApp((s) => s.renameLabel);
  const del = useApp((s) => s.deleteLabel);
  const clearMemory = useApp((s) => s.clearMemory);
  const [editing, setEditing] = useState<number | null>(null);
  const [draft, setDraft] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [filter, setFilter] = useState('');
  // a memory can hold many thousands of names: render a page of them, find the rest by name
  const matching = filter ? labels.filter((l) => l.name.toLowerCase().includes(filter.toLowerCase())) : labels;
  const visible = matching.slice(0, MAX_ROWS);

  return (
    <section className="panel labels" aria-labelledby="labels-h">
      <h2 id="labels-h">Labels</h2>
      {labels.length === 0 ? (
        <p className="muted">No labels yet: draw a symbol, type a label, press Remember.</p>
      ) : (
        <>
        {labels.length > MAX_ROWS / 4 && (
          <label className="field">
            <span>Find a name</span>
            <input data-testid="label-filter" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="type part of a name" />
          </label>
        )}
        {matching.length > visible.length && (
          <p className="muted" data-testid="labels-shown">
            showing {visible.length} of {matching.length} names
          </p>
        )}
        <table data-testid="labels-table">
          <thead>
            <tr>
              <th scope="col">label</th>
              <th scope="col">slots</th>
              <th scope="col">actions</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((l) => (
              <tr key={l.id} data-testid="label-row" data-label={l.name} data-count={l.count}>
                <td>
                  {editing === l.id ? (
                    <form
                      onSubmit={(e) => {
                        e.preventDefault();
                        // the field stays open with its text when the name is refused
                        void rename(l.id, draft).then((ok) => ok && setEditing(null));
                      }}
                    >
                      <input
                        aria-label={`new name for ${l.name}`}
                        data-testid="rename-input"
                        value={draft}
                        autoFocus
                        onChange={(e) => setDraft(e.target.value)}
                        onKeyDown={(e) => e.key === 'Escape' && (e.stopPropagation(), setEditing(null))}
                      />
                      <button type="submit">Save</button>
                    </form>
                  ) : (
                    l.name
                  )}
                </td>
                <td>{l.count}</td>
                <td>
                  <button
                    type="button"
                    aria-label={`rename ${l.name}`}
                    data-testid="rename"
                    onClick={() => {
                      setEditing(l.id);
                      setDraft(l.name);
                    }}
                  >
                    Rename
                  </button>
                  <button type="button" aria-label={`delete ${l.name}`} data-testid="delete-label" onClick={() => void del(l.id)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </>
      )}
      {!confirming ? (
        <button type="button" data-testid="clear-memory" onClick={() => setConfirming(true)}>
          Clear the whole memory…
        </button>
      ) : (
        <div role="alertdialog" aria-labelledby="confirm-h" className="confirm">
          <p id="confirm-h">Forget every stored drawing and label? This cannot be undone (export first to keep a copy).</p>
          <button
            type="button"
            data-testid="confirm-clear"
            onClick={() => {
              setConfirming(false);
              void clearMemory();
            }}
          >
            Yes, clear it
          </button>
          <button type="button" autoFocus onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <ImportExport />
      <SharePanel />
    </section>
  );
}

function ImportExport() {
  const exportText = useApp((s) => s.exportText);
  const importKeepingMine = useApp((s) => s.importKeepingMine);
  const ready = useApp((s) => s.ready);
  const canChange = useApp((s) => s.ready && !s.readOnly && !s.busy);
  return (
    <div className="import-export">
      <h3>Keep a copy</h3>
      <button
        type="button"
        data-testid="export"
        disabled={!ready}
        onClick={() => downloadText(exportText(), `memory-lab-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.json`)}
      >
        Export memory to a file
      </button>
      <label className="file-label">
        Import a memory file
        <input
          type="file"
          accept="application/json,.json"
          data-testid="import"
          disabled={!canChange}
          onChange={async (e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) await importKeepingMine(await f.text(), 'file');
          }}
        />
      </label>
    </div>
  );
}
