import { useEffect, useMemo, useState } from 'react';
import { getEngine, IMPORT_WORDS, nextPaint, useApp } from '../store';
import { cleanLabelName, labelNameProblem, MAX_FILE_CHARS } from '../persist';
import { ASIDE_NAMES } from '../autosave';
import { useCompare } from '../compare/compareStore';
import type { LabelInfo } from '../types';
import { downloadMemoryFile, downloadText } from './RescueBanner';
import { cancelOnEscape, focusLater } from './keys';
import { Question } from './Question';
import { SharePanel } from './SharePanel';
import { Thumb } from './Thumb';

const NO_LABELS: LabelInfo[] = [];
const MAX_ROWS = 300;

/** Labels with their slot counts: rename, delete (frees its slots), clear the whole memory. */

export function LabelsPanel() {
  const summary = useApp((s) => s.summary);
  const labels = summary?.labels ?? NO_LABELS;
  // each label's youngest stored drawing, shown beside its name (which symbol a name is)
  const youngest = useMemo(() => {
    const out = new Map<number, number>();
    if (!summary) return out;
    const { values, ages } = summary;
    values.forEach((v, slot) => {
      if (v < 0) return;
      const best = out.get(v);
      if (best === undefined || ages[slot] < ages[best]) out.set(v, slot);
    });
    return out;
  }, [summary]);
  const rename = useApp((s) => s.renameLabel);
  const merge = useApp((s) => s.mergeLabels);
  const compareOn = useCompare((s) => s.enabled);
  const del = useApp((s) => s.deleteLabel);
  const clearMemory = useApp((s) => s.clearMemory);
  const [editing, setEditing] = useState<number | null>(null);
  const [draft, setDraft] = useState('');
  // why the name typed cannot be saved, said under its field (the banner is out of view on a phone)
  const [renameRefused, setRenameRefused] = useState<string | null>(null);
  const draftProblem = cleanLabelName(draft) === '' ? null : labelNameProblem(cleanLabelName(draft));
  const [confirming, setConfirming] = useState(false);
  // a rename to a name another label has: asked first, then the two names are made one
  const [merging, setMerging] = useState<{ from: LabelInfo; into: LabelInfo } | null>(null);
  // the name typed is another name's letters in another case: said before Save (two names, not one),
  // but not when it is a name already (Save asks to merge into it) or the label's own
  // (names by their lower case, made once per memory change while a name is edited: not a scan of
  // every name per keystroke in a memory of many thousands)
  const byLower = useMemo(() => {
    const m = new Map<string, LabelInfo[]>();
    if (editing === null) return m;
    for (const l of labels) {
      const k = l.name.toLowerCase();
      const list = m.get(k);
      if (list) list.push(l);
      else m.set(k, [l]);
    }
    return m;
  }, [labels, editing === null]); // eslint-disable-line react-hooks/exhaustive-deps
  const caseTwin = (() => {
    if (editing === null || merging || (renameRefused ?? draftProblem) !== null) return undefined;
    const clean = cleanLabelName(draft);
    const same = byLower.get(clean.toLowerCase()) ?? [];
    if (same.some((o) => o.name === clean)) return undefined;
    return same.find((o) => o.id !== editing);
  })();
  // the memory changed while it was asked (an import, an Undo): its names may mean others now
  const version = summary?.version;
  useEffect(() => setMerging(null), [version]);
  // the field goes: the keyboard goes back to the row's Rename button (not to the page)
  const stopEditing = (id: number) => {
    setEditing(null);
    focusLater('rename', `[data-testid="label-row"][data-label-id="${id}"]`);
  };
  const cancelMerge = () => {
    setMerging(null);
    focusLater('rename-input');
  };
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
              <th scope="col">
                <span className="visually-hidden">drawing</span>
              </th>
              <th scope="col">label</th>
              <th scope="col">slots</th>
              <th scope="col">actions</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((l) => (
              <tr key={l.id} data-testid="label-row" data-label={l.name} data-label-id={l.id} data-count={l.count}>
                <td className="label-thumb">
                  {youngest.has(l.id) && <Thumb image={getEngine().thumbnail(youngest.get(l.id)!)} size={32} title={`the latest drawing of ${l.name}`} testId="label-thumb" />}
                </td>
                <td colSpan={editing === l.id ? 3 : undefined}>
                  {editing === l.id ? (
                    <form
                      className="rename-form"
                      onSubmit={(e) => {
                        e.preventDefault();
                        const problem = labelNameProblem(cleanLabelName(draft));
                        if (problem) {
                          setRenameRefused(`not renamed: ${problem}`);
                          return;
                        }
                        const taken = labels.find((o) => o.id !== l.id && o.name === cleanLabelName(draft));
                        if (taken) {
                          setMerging({ from: l, into: taken });
                          return;
                        }
                        // the field stays open with its text when the name is refused, and says why
                        void rename(l.id, draft).then((ok) => {
                          if (ok) stopEditing(l.id);
                          else setRenameRefused(useApp.getState().message?.text ?? 'not renamed');
                        });
                      }}
                    >
                      <input
                        aria-label={`new name for ${l.name}`}
                        data-testid="rename-input"
                        value={draft}
                        autoFocus
                        aria-invalid={(renameRefused ?? draftProblem) !== null}
                        aria-describedby={(renameRefused ?? draftProblem) !== null ? 'rename-refusal' : caseTwin ? 'rename-other-case' : undefined}
                        onChange={(e) => {
                          setDraft(e.target.value);
                          setMerging(null);
                          setRenameRefused(null);
                        }}
                        onKeyDown={(e) => e.key === 'Escape' && (e.stopPropagation(), stopEditing(l.id))}
                      />
                      {/* while the merge is asked, its own answers are the ones to give */}
                      {merging?.from.id !== l.id && (
                        <>
                          <button type="submit">Save</button>
                          <button type="button" data-testid="rename-cancel" onClick={() => stopEditing(l.id)}>
                            Cancel
                          </button>
                        </>
                      )}
                      {(renameRefused ?? draftProblem) !== null && (
                        <p className="field-error inline-message" role="alert" id="rename-refusal" data-testid="rename-refusal">
                          {renameRefused ?? draftProblem}
                        </p>
                      )}
                      {caseTwin && (
                        <p className="muted inline-message" id="rename-other-case" data-testid="rename-other-case">
                          “{caseTwin.name}” is another name: upper and lower case make different names. To make the two one, type “{caseTwin.name}” exactly.
                        </p>
                      )}
                      {merging?.from.id === l.id && (
                        <Question
                          id="merge-h"
                          testId="merge-confirm"
                          onCancel={cancelMerge}
                          text={
                            <>
                            “{merging.into.name}” is a name already ({merging.into.count} {merging.into.count === 1 ? 'drawing' : 'drawings'}). Make the two one name? The{' '}
                            {merging.from.count === 1 ? 'drawing' : `${merging.from.count} drawings`} of “{merging.from.name}” will be named “{merging.into.name}”, and “{merging.from.name}” goes.
                            {compareOn && ' Compare starts again (its learners hold the two names apart), taught the memory’s drawings.'} Undo is offered.
                            </>
                          }
                        >
                          <button
                            type="button"
                            data-testid="confirm-merge"
                            onClick={() => {
                              const { from, into } = merging;
                              setMerging(null);
                              void merge(from.id, into.id).then((ok) => {
                                if (!ok) return;
                                setEditing(null);
                                focusLater('message-action');
                              });
                            }}
                          >
                            Merge into “{merging.into.name}”
                          </button>{' '}
                        </Question>
                      )}
                    </form>
                  ) : (
                    l.name
                  )}
                </td>
                {/* while a name is typed, its field and the question it may ask take the row's width */}
                {editing !== l.id && <td>{l.count}</td>}
                {editing !== l.id && (
                <td>
                  <button
                    type="button"
                    aria-label={`rename ${l.name}`}
                    data-testid="rename"
                    onClick={() => {
                      setEditing(l.id);
                      setDraft(l.name);
                      setMerging(null);
                      setRenameRefused(null);
                    }}
                  >
                    Rename
                  </button>
                  <button type="button" aria-label={`delete ${l.name}`} data-testid="delete-label" onClick={() => void del(l.id).then((ok) => ok && focusLater('message-action'))}>
                    Delete
                  </button>
                </td>
                )}
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
        <Question
          id="confirm-h"
          text="Forget every stored drawing and label? This cannot be undone (export first to keep a copy)."
          onCancel={() => {
            setConfirming(false);
            focusLater('clear-memory');
          }}
        >
          <button
            type="button"
            data-testid="confirm-clear"
            onClick={() => {
              setConfirming(false);
              void clearMemory();
            }}
          >
            Yes, clear it
          </button>{' '}
        </Question>
      )}
      <ImportExport />
      <AsideCopies />
      <SharePanel />
    </section>
  );
}

function ImportExport() {
  const exportText = useApp((s) => s.exportText);
  const importKeepingMine = useApp((s) => s.importKeepingMine);
  const setMessage = useApp((s) => s.setMessage);
  const ready = useApp((s) => s.ready);
  const canChange = useApp((s) => s.ready && !s.readOnly && !s.busy);
  const filled = useApp((s) => s.summary?.filled ?? 0);
  // a large memory takes seconds to write out: said first, and painted before the work starts
  const [preparing, setPreparing] = useState(false);
  const exportNow = async () => {
    if (filled > 20_000) {
      setPreparing(true);
      await nextPaint();
    }
    try {
      downloadMemoryFile(exportText, `memory-lab-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.json`);
    } finally {
      setPreparing(false);
    }
  };
  return (
    <div className="import-export">
      <h3>Keep a copy</h3>
      <button type="button" data-testid="export" disabled={!ready || preparing} onClick={() => void exportNow()}>
        {preparing ? 'preparing the file…' : 'Export memory to a file'}
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
            if (!f) return;
            // a file past what a browser reads as one text is refused by its size, before reading it
            const refused = `${IMPORT_WORDS.file.refused}: `;
            // (bytes, not characters: a name's letter may take up to 3 bytes; the text's length is checked once read)
            if (f.size > 3 * MAX_FILE_CHARS) {
              setMessage({ kind: 'error', text: `${refused}the file has ${(f.size / 1e6).toFixed(0)} MB, and a memory file has at most ${MAX_FILE_CHARS / 1e6} million characters (the most a browser reads as one text)`, tab: null });
              return;
            }
            let text: string;
            try {
              text = await f.text();
            } catch (err) {
              setMessage({ kind: 'error', text: `${refused}the file could not be read (${err instanceof Error ? err.message : String(err)})`, tab: null });
              return;
            }
            await importKeepingMine(text, 'file');
          }}
        />
      </label>
    </div>
  );
}

/** "12 Mar 2026, 14:05:09" in the reader's locale, seconds included so that copies kept in the same minute differ (the raw text when it is not a date) */
function when(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at || 'unknown date' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/**
 * The copies kept aside in this browser (a memory that could not be restored, or the user's own one
 * when a shared memory or a file replaced it): each can be downloaded, opened again or deleted.
 * Nothing else deletes them, so this is where they stop piling up.
 */
function AsideCopies() {
  const copies = useApp((s) => s.asideCopies);
  const refresh = useApp((s) => s.refreshAside);
  const asideText = useApp((s) => s.asideText);
  const openAside = useApp((s) => s.openAside);
  const deleteCopy = useApp((s) => s.deleteAsideCopy);
  const canChange = useApp((s) => s.ready && !s.readOnly && !s.busy);
  const ready = useApp((s) => s.ready);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** "Delete this copy?" answered No: the keyboard back on its Delete button */
  const keep = (key: number) => {
    setConfirming(null);
    focusLater('delete-aside', `[data-testid="aside-copy"][data-key="${key}"]`);
  };
  useEffect(() => {
    if (ready) void refresh();
  }, [ready, refresh]);
  if (!copies?.length) return null;
  return (
    <div className="aside-copies" data-testid="aside-copies">
      <h3>Copies kept aside in this browser</h3>
      <p className="muted">
        Memory Lab never throws a memory away on its own: these were kept when another memory replaced them or when they could not be opened.
        Download one to keep it as a file, open it again, or delete it when you no longer need it.
      </p>
      <ul className="plain-list">
        {copies.map((c) => (
          <li key={c.key} data-testid="aside-copy" data-key={c.key}>
            <span className="aside-what">
              <strong>{when(c.at)}</strong>
              {c.drawings !== null && ` · ${c.drawings} drawing${c.drawings === 1 ? '' : 's'}`}
              {c.names && c.names.length > 0 && (
                <>
                  <br />
                  <span data-testid="aside-names">
                    {c.names.slice(0, ASIDE_NAMES).map((n) => `“${n}”`).join(', ')}
                    {c.names.length > ASIDE_NAMES ? ', …' : ''}
                  </span>
                </>
              )}
              <br />
              <small className="muted">{c.reason}</small>
            </span>
            {confirming === c.key ? (
              <span
                role="alertdialog"
                aria-label="delete this copy?"
                className="confirm"
                onKeyDown={cancelOnEscape(() => keep(c.key))}
              >
                Delete this copy for good?{' '}
                <button
                  type="button"
                  data-testid="confirm-delete-aside"
                  disabled={!canChange}
                  onClick={() => {
                    setConfirming(null);
                    void deleteCopy(c.key);
                  }}
                >
                  Yes, delete it
                </button>
                <button type="button" autoFocus onClick={() => keep(c.key)}>
                  Cancel
                </button>
              </span>
            ) : (
              <span className="aside-actions">
                <button
                  type="button"
                  data-testid="download-aside"
                  onClick={() =>
                    void asideText(c.key)
                      .then((t) => {
                        setError(null);
                        downloadText(t, `memory-lab-kept-aside-${c.key}.json`);
                      })
                      .catch((e) => setError(e instanceof Error ? e.message : String(e)))
                  }
                >
                  Download
                </button>
                <button
                  type="button"
                  data-testid="open-aside"
                  disabled={!canChange}
                  onClick={() => {
                    setError(null);
                    void openAside(c.key);
                  }}
                >
                  Open
                </button>
                <button type="button" data-testid="delete-aside" disabled={!canChange} onClick={() => setConfirming(c.key)}>
                  Delete…
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
