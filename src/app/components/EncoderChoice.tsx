import { useEffect, useRef, useState } from 'react';
import { useApp } from '../store';

/**
 * Settings: which bundled encoder turns drawings into keys (models/encoders.json; the first is
 * the default). Switching re-encodes every stored drawing, so the memory and its labels are kept.
 */
export function EncoderChoice() {
  const encoders = useApp((s) => s.encoders);
  const inUse = useApp((s) => s.encoder);
  const progress = useApp((s) => s.encoderSwitch);
  const busy = useApp((s) => s.busy || s.readOnly || !s.ready);
  const switchEncoder = useApp((s) => s.switchEncoder);
  const [draft, setDraft] = useState(inUse ?? '');
  // the button and the list are off while switching: the focus comes back to the list after it
  const list = useRef<HTMLSelectElement>(null);
  useEffect(() => setDraft(inUse ?? ''), [inUse]);
  if (encoders.length === 0) return null;
  const chosen = encoders.find((e) => e.name === draft) ?? encoders[0];

  return (
    <section className="panel settings encoder-choice" aria-labelledby="encoder-h" data-testid="encoder-choice">
      <h2 id="encoder-h">Encoder</h2>
      <p className="help">
        The encoder is the network that turns a drawing into the key the memory compares. Switching re-encodes every
        drawing in the memory with the new encoder: the labels stay. (A slot written several times keeps only its last
        drawing, so its new key comes from that one.)
      </p>
      <div className="field">
        <label htmlFor="setting-encoder">Encoder</label>
        <select ref={list} id="setting-encoder" data-testid="setting-encoder" value={chosen.name} onChange={(e) => setDraft(e.target.value)} disabled={progress !== null}>
          {encoders.map((e, i) => (
            <option key={e.name} value={e.name}>
              {e.name}
              {i === 0 ? ' (default)' : ''}
              {e.name === inUse ? ' — in use' : ''}
            </option>
          ))}
        </select>
        <small className="help" data-testid="encoder-description">
          {chosen.description} Trained with: <strong>{chosen.objective}</strong>.{' '}
          {chosen.keyShifts ? `Each key averages the drawing and ${chosen.keyShifts} copies of it moved by one pixel (measured to help on held-out alphabets). ` : ''}
          {chosen.accuracy ? `Accuracy: ${chosen.accuracy}` : 'Accuracy: not measured yet.'}
        </small>
      </div>
      <div className="settings-actions">
        <button type="button" data-testid="switch-encoder" disabled={busy || chosen.name === inUse} onClick={() => void switchEncoder(chosen.name).finally(() => setTimeout(() => list.current?.focus(), 0))}>
          Use this encoder
        </button>
        <span className="hint" data-testid="encoder-in-use">
          in use: {inUse ?? '…'}
        </span>
      </div>
      {progress && (
        <p role="status" data-testid="encoder-progress">
          {progress.phase === 'loading' ? (
            <>loading the encoder…</>
          ) : (
            <>
              re-encoding the stored drawings: <progress value={progress.done} max={Math.max(1, progress.total)} /> {progress.done} / {progress.total}
            </>
          )}
        </p>
      )}
    </section>
  );
}
