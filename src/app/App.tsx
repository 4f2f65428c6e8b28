import { lazy, Suspense, useEffect, type ComponentType } from 'react';
import { ViewBoundary } from './components/ViewBoundary';
import { focusLater } from './components/keys';
import { DrawPanel } from './components/DrawPanel';
import { LabelsPanel } from './components/LabelsPanel';
import { MemoryView } from './components/MemoryView';
import { PredictionPanel } from './components/PredictionPanel';
import { CompareStrip } from './compare/CompareStrip';
import { CompareView } from './compare/CompareView';
import { installCompare } from './compare/compareStore';
import { RescueBanner } from './components/RescueBanner';
import { SettingsPanel, UnderTheHood } from './components/SettingsPanel';
import { SharedLinkPrompt } from './components/SharePanel';
import { EncoderChoice } from './components/EncoderChoice';
import { installTestApi } from './testApi';
import { unsavedNow, useApp, type Tab } from './store';
import { backendFromUrl } from './tfjsBackend';
import { ExampleSymbol, Tour } from './tour/Tour';

// The Benchmark view (src/app/benchmark/BenchmarkView.tsx, exporting `BenchmarkView` or a default
// component) is optional: the tab appears when that file exists.
const benchmarkModules = import.meta.glob<{ BenchmarkView?: ComponentType; default?: ComponentType }>(
  './benchmark/BenchmarkView.tsx',
);
const loadBenchmark = benchmarkModules['./benchmark/BenchmarkView.tsx'];
const BenchmarkView = loadBenchmark
  ? lazy(async () => {
      const m = await loadBenchmark();
      const C = m.BenchmarkView ?? m.default;
      if (!C) throw new Error('src/app/benchmark/BenchmarkView.tsx exports no BenchmarkView component');
      return { default: C };
    })
  : null;

// A shared memory link (#memory=..., src/app/share.ts) as the page was opened: read once the app is
// ready (the view buttons rewrite the address meanwhile).
const openedWithHash = typeof location === 'undefined' ? '' : location.hash;

// The Rare events view (issue 9): loaded when its tab is opened (the model loads then too).
const RareView = lazy(() => import('./rare/RareView'));

/** The navigation: add a view by adding an entry here. */
export const TABS: { id: Tab; title: string; render: () => React.ReactNode }[] = [
  {
    id: 'draw',
    title: 'Draw & predict',
    render: () => (
      <>
        <div className="draw-layout">
          <DrawPanel />
          <PredictionPanel />
        </div>
        <CompareStrip />
      </>
    ),
  },
  { id: 'memory', title: 'Memory', render: () => <MemoryView /> },
  { id: 'labels', title: 'Labels', render: () => <LabelsPanel /> },
  // Compare mode (issue 10): the memory beside the Hebbian softmax and other learners
  { id: 'compare' as Tab, title: 'Compare', render: () => <CompareView /> },
  // Rare events (issue 9): the paper's synthetic task, a sequence model with the memory inside
  { id: 'rare' as Tab, title: 'Rare events', render: () => <Suspense fallback={<p>loading…</p>}><RareView /></Suspense> },
  // the encoder choice (issue 8) is its own section, beside the memory settings
  { id: 'settings', title: 'Settings', render: () => <><SettingsPanel /><EncoderChoice /></> },
  ...(BenchmarkView
    ? [{ id: 'benchmark' as Tab, title: 'Benchmark', render: () => <Suspense fallback={<p>loading…</p>}><BenchmarkView /></Suspense> }]
    : []),
];

const isTyping = (t: EventTarget | null) =>
  t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));

/** the key was pressed in a dialog, or while one is open (a question over the views): the keys are its own */
const inDialog = (t: EventTarget | null) =>
  (t instanceof Element && t.closest('dialog, [role=dialog], [role=alertdialog]') !== null) ||
  document.querySelector('dialog[open], [role=dialog], [role=alertdialog]') !== null;

function useKeyboard() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = useApp.getState();
      // the drawing's shortcuts belong to the Draw view, outside dialogs (their Escape closes them):
      // an Escape in another view's field or dialog erased an unsaved drawing
      // (in a text field, Escape, Ctrl+Z and Enter are the field's own)
      // (and not while the guided tour draws and names: a key would go into its write)
      if (e.defaultPrevented || s.tab !== 'draw' || s.tourRunning || inDialog(e.target) || isTyping(e.target)) return;
      if (e.key === 'Escape') {
        s.clearDrawing();
      } else if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === 'z') {
        e.preventDefault();
        s.undoStroke();
      } else if (e.key === 'Enter' && !(e.target instanceof HTMLButtonElement) && !(e.target instanceof HTMLAnchorElement)) {
        e.preventDefault();
        void s.remember(s.labelDraft).then((ok) => {
          if (ok) {
            useApp.getState().clearDrawing();
            useApp.getState().setLabelDraft('');
          }
        });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}


export function App() {
  const tab = useApp((s) => s.tab);
  const setTab = useApp((s) => s.setTab);
  const message = useApp((s) => s.message);
  const ready = useApp((s) => s.ready);
  const startFailed = useApp((s) => s.startFailed);
  // the memory on screen is not (all) kept in this browser: said until a save works again
  const unsaved = useApp(unsavedNow);
  const setMessage = useApp((s) => s.setMessage);
  const summaryVersion = useApp((s) => s.summary?.version);
  useKeyboard();
  useEffect(() => {
    installTestApi();
    installCompare();
    const forced = backendFromUrl();
    // start() runs once per page (StrictMode runs this effect twice in development); checking
    // the same link twice only sets the same question (or the same message) again
    void useApp
      .getState()
      .start(forced === 'cpu' ? undefined : forced)
      .then(() => useApp.getState().checkSharedLink(openedWithHash));
    // a memory link opened in a tab already showing the app changes only the fragment: no reload
    const onHash = () => {
      if (useApp.getState().ready) useApp.getState().checkSharedLink(location.hash);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const current = TABS.find((t) => t.id === tab) ?? TABS[0];
  // the WAI-ARIA tabs pattern: one tab in the Tab order (the selected one); arrows, Home and End
  // move between the tabs and select them
  const onTabKey = (e: React.KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === current.id);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = TABS[(to + TABS.length) % TABS.length];
    setTab(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };

  return (
    <div className="app" data-ready={ready} data-testid="app">
      <header className="top">
        <h1>Memory Lab</h1>
        <p className="tagline" data-testid="tagline">
          Draw a symbol, give it a name and press <b>Remember</b>. Draw it again: the app recognises it after seeing it once.
        </p>
        <UnderTheHood />
      </header>
      <nav className="tabs" aria-label="views">
        {/* the tablist holds the tabs only (its layout box is the nav's: display: contents) */}
        <div role="tablist" aria-label="views" className="tablist" onKeyDown={onTabKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            role="tab"
            type="button"
            id={`tab-${t.id}`}
            aria-selected={t.id === current.id}
            tabIndex={t.id === current.id ? 0 : -1}
            aria-controls="tabpanel"
            data-testid={`tab-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            {t.title}
          </button>
        ))}
        </div>
        <Tour />
        {current.id === 'draw' && <ExampleSymbol />}
      </nav>
      {/* the tour's step text goes here (a portal from <Tour />): a row of its own below the tab bar,
          which on phones scrolls sideways and would carry it out of view */}
      <div id="tour-step-slot" />
      {message && (message.tab == null || message.tab === current.id) && (
        <div className={`message ${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="message" data-kind={message.kind} tabIndex={-1}>
          <span>{message.text}</span>
          {message.action && (message.action.validFor === undefined || message.action.validFor === summaryVersion) && (
            <button
              type="button"
              className="message-action"
              data-testid="message-action"
              onClick={(e) => {
                // the button goes once it has acted: keyboard focus stays on the message, which says what happened
                const bar = e.currentTarget.closest<HTMLElement>('[data-testid=message]');
                message.action!.run();
                bar?.focus();
              }}
            >
              {message.action.label}
            </button>
          )}
          <button type="button" aria-label="dismiss message" onClick={() => setMessage(null)}>
            ×
          </button>
        </div>
      )}
      <RescueBanner />
      <SharedLinkPrompt />
      {unsaved && (
        <p className="message warning unsaved" role="status" data-testid="unsaved">
          <span>
            Not kept in this browser: {unsaved}. Closing the page would lose what is not saved; export a copy to keep it.
          </span>
          <button
            type="button"
            onClick={() => {
              setTab('labels');
              focusLater('export');
            }}
          >
            Keep a copy…
          </button>
        </p>
      )}
      {!ready && !message && !startFailed && <p data-testid="loading">Loading the encoder…</p>}
      {startFailed && !message && (
        <p className="message error" role="alert" data-testid="start-failed">
          <span>{startFailed}</span>
          <button type="button" onClick={() => location.reload()}>
            Reload
          </button>
        </p>
      )}
      <main>
        <div id="tabpanel" role="tabpanel" aria-labelledby={`tab-${current.id}`}>
          <ViewBoundary key={current.id} view={current.title} onLeave={current.id === 'draw' ? undefined : () => setTab('draw')}>
            {current.render()}
          </ViewBoundary>
        </div>
      </main>
    </div>
  );
}
