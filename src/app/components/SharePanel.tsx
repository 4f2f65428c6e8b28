import { useEffect, useMemo, useRef, useState } from 'react';
import { useApp } from '../store';
import { MAX_LINK_CHARS, QR_MAX_BYTES, qrModulesOf, type ShareLink } from '../share';
import { downloadMemoryFile, downloadText } from './RescueBanner';

const exportName = () => `memory-lab-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.json`;
const plural = (n: number, w: string) => `${n.toLocaleString('en')} ${w}${n === 1 ? '' : 's'}`;

/** A QR code as one SVG path (dark modules on white with the 4-module quiet zone, in either theme). */
export function QrCode({ text, label }: { text: string; label: string }) {
  const qr = useMemo(() => qrModulesOf(text), [text]);
  const q = 4;
  let d = '';
  for (let r = 0; r < qr.size; r++) {
    for (let c = 0; c < qr.size; c++) if (qr.dark[r * qr.size + c]) d += `M${c + q} ${r + q}h1v1h-1z`;
  }
  const n = qr.size + 2 * q;
  return (
    <svg className="qr" viewBox={`0 0 ${n} ${n}`} role="img" aria-label={label} data-testid="share-qr" data-version={qr.version} shapeRendering="crispEdges">
      <rect width={n} height={n} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

/** Share the memory with another device: a link (and its QR code) when small enough, else the file. */
export function SharePanel() {
  const ready = useApp((s) => s.ready);
  const summary = useApp((s) => s.summary);
  const exportText = useApp((s) => s.exportText);
  const makeShareLink = useApp((s) => s.makeShareLink);
  // the link is made on request and belongs to the memory it was made from
  const [made, setMade] = useState<{ link: ShareLink; of: typeof summary } | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [large, setLarge] = useState(false);
  const [making, setMaking] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const filled = summary?.filled ?? 0;
  const link = made && made.of === summary ? made.link : null;

  const make = async () => {
    setCopied(null);
    setFailed(null);
    setMaking(true);
    try {
      // the keys the other device makes again from their drawings are left out (shorter link)
      setMade({ link: await makeShareLink(`${location.origin}${location.pathname}`), of: summary });
    } catch (err) {
      setMade(null);
      const why = err instanceof Error ? err.message : String(err);
      // (a memory too large for one file is too large for a link too: a file is no way out then)
      setFailed(/too large for one file/.test(why) ? `The link could not be made: ${why}.` : `The link could not be made (${why}): save the memory as a file instead.`);
    } finally {
      setMaking(false);
    }
  };
  const copy = async (url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied('copied: paste it in a mail or a chat');
    } catch {
      setCopied('copying is not allowed here: select the link and copy it');
    }
  };

  return (
    <section className="share" aria-labelledby="share-h" data-testid="share">
      <h3 id="share-h">Share with another device</h3>
      <p className="muted">
        A link or a QR code holds the memory itself (its drawings and names, nothing goes to a server). The other device opens it
        and is asked before its own memory is replaced.
      </p>
      <button type="button" data-testid="share-make" disabled={!ready || filled === 0 || making} onClick={() => void make()}>
        {making ? 'Making the link…' : link ? 'Make the link again' : 'Make a link and QR code'}
      </button>
      {failed && (
        <p className="warning-text" role="alert" data-testid="share-failed">
          {failed}
        </p>
      )}
      {ready && filled === 0 && <p className="muted">Remember a drawing first: an empty memory has nothing to share.</p>}
      {made && !link && filled > 0 && <p className="muted" data-testid="share-stale">The memory changed since: make the link again.</p>}
      {link?.kind === 'too-large' && (
        <div className="share-result" data-testid="share-too-large" role="status">
          <p>
            This memory ({plural(filled, 'drawing')}) is too large for a link or a QR code:{' '}
            {link.chars !== null
              ? `its link would have ${link.chars.toLocaleString('en')} characters`
              : `even at its smallest it has ${link.fileChars.toLocaleString('en')} characters before compression`}
            , and a link holds at most {MAX_LINK_CHARS.toLocaleString('en')}. Share it as a file instead: the other device opens it with
            “Import a memory file” (Labels).
          </p>
          <button type="button" data-testid="share-file" onClick={() => downloadMemoryFile(exportText, exportName())}>
            Save the memory as a file
          </button>
        </div>
      )}
      {link?.kind === 'link' && (
        <div className="share-result" data-testid="share-result">
          {link.qr ? (
            <figure className="qr-figure">
              <QrCode text={link.url} label={`QR code of the link to this memory (${plural(filled, 'drawing')})`} />
              <figcaption>
                Scan it with the other device's camera.{' '}
                <button type="button" data-testid="share-qr-large" onClick={() => setLarge(true)}>
                  Show it large
                </button>
              </figcaption>
              {large && (
                // a dense code scans best when large (a projector, the whole screen); a tap anywhere closes it
                <div className="qr-large" role="dialog" aria-label="QR code, large" data-testid="share-qr-overlay" onClick={() => setLarge(false)}>
                  <QrCode text={link.url} label="QR code of the link to this memory, large" />
                  <button type="button" autoFocus onClick={() => setLarge(false)} onKeyDown={(e) => e.key === 'Escape' && setLarge(false)}>
                    Close
                  </button>
                </div>
              )}
            </figure>
          ) : (
            <p className="muted" data-testid="share-no-qr">
              Too large for a QR code ({link.chars.toLocaleString('en')} characters; a QR code holds at most{' '}
              {QR_MAX_BYTES.toLocaleString('en')}): send the link instead, or the file.
            </p>
          )}
          <label className="field share-link">
            <span>
              Link ({plural(filled, 'drawing')}, {link.chars.toLocaleString('en')} characters)
            </span>
            <input readOnly value={link.url} data-testid="share-link" onFocus={(e) => e.currentTarget.select()} />
          </label>
          <div className="share-actions">
            <button type="button" data-testid="share-copy" onClick={() => void copy(link.url)}>
              Copy the link
            </button>
            <button type="button" data-testid="share-file" onClick={() => downloadMemoryFile(exportText, exportName())}>
              Save as a file instead
            </button>
          </div>
          {copied && (
            <p className="muted" role="status" data-testid="share-copied">
              {copied}
            </p>
          )}
        </div>
      )}
    </section>
  );
}

/** A shared memory link was opened: ask before replacing this device's memory; after a link or a file replaced it, offer the earlier one back. */
export function SharedLinkPrompt() {
  const incoming = useApp((s) => s.incoming);
  const previous = useApp((s) => s.previous);
  const busy = useApp((s) => s.busy);
  const readOnly = useApp((s) => s.readOnly);
  const encoder = useApp((s) => s.encoder);
  const mineNow = useApp((s) => s.summary?.filled ?? 0);
  const open = useApp((s) => s.openIncoming);
  const keepMine = useApp((s) => s.keepMine);
  const previousText = useApp((s) => s.previousText);
  const restorePrevious = useApp((s) => s.restorePrevious);
  const [hiddenKey, setHiddenKey] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const box = useRef<HTMLDivElement>(null);
  // a link opened in a tab already showing the app may find it scrolled down: bring the question into view
  useEffect(() => {
    if (!incoming) return;
    box.current?.scrollIntoView({ block: 'nearest' });
    heading.current?.focus({ preventScroll: true });
  }, [incoming]);

  if (incoming) {
    // the memory here as it is now (a write in another tab, taken over while this asks, counts)
    const mine = mineNow;
    const shown = incoming.labels.slice(0, 12).map((l) => `“${l}”`).join(', ');
    return (
      <div ref={box} className="shared-prompt" role="dialog" aria-labelledby="shared-h" aria-describedby="shared-d" data-testid="shared-prompt">
        <h2 id="shared-h" ref={heading} tabIndex={-1}>
          Open the shared memory?
        </h2>
        <div id="shared-d">
          <p>
            This link holds a memory of {plural(incoming.drawings, 'drawing')} ({plural(incoming.labels.length, 'name')}: {shown}
            {incoming.labels.length > 12 ? ', …' : ''}), made with the encoder “{incoming.encoder}”.
            {incoming.reencode && ` This device uses “${encoder}”: the drawings will be encoded again with it.`}
          </p>
          <p>
            {mine > 0
              ? `Your memory here holds ${plural(mine, 'drawing')}. Opening the shared one keeps yours aside in this browser: you can download it or bring it back.`
              : 'Your memory here is empty: nothing is replaced.'}
          </p>
          {readOnly && (
            <p className="warning-text" data-testid="shared-read-only">
              Memory Lab is open in another tab of this browser, which keeps the memory: close that tab, and this one can open the shared
              memory.
            </p>
          )}
        </div>
        <div className="shared-actions">
          <button type="button" className="primary" data-testid="shared-open" disabled={busy || readOnly} onClick={() => void open()}>
            Open the shared memory
          </button>
          <button type="button" data-testid="shared-keep" onClick={keepMine}>
            {mine > 0 ? 'Keep mine' : 'Do not open it'}
          </button>
        </div>
      </div>
    );
  }
  if (!previous || hiddenKey === previous.key) return null;
  return (
    <div className="message info shared-previous" role="status" data-testid="shared-previous">
      <span>Your earlier memory ({plural(previous.drawings, 'drawing')}) is kept aside in this browser.</span>
      <span className="shared-actions">
        <button
          type="button"
          data-testid="previous-download"
          onClick={() =>
            void previousText()
              .then((t) => downloadText(t, `memory-lab-kept-aside-${previous.key}.json`))
              .catch((e) => setError(e instanceof Error ? e.message : String(e)))
          }
        >
          Download it
        </button>
        <button type="button" data-testid="previous-restore" disabled={busy || readOnly} onClick={() => void restorePrevious()}>
          Bring it back
        </button>
        <button type="button" aria-label="hide this notice" onClick={() => setHiddenKey(previous.key)}>
          ×
        </button>
      </span>
      {error && <span className="error">{error}</span>}
    </div>
  );
}
