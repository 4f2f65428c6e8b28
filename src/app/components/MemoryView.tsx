import { ageBins } from '../ageBins';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { pca2 } from '../pca';
import { layoutKeyMap, type MapPoint } from '../keyMapLayout';
import { getEngine, useApp } from '../store';
import { Thumb } from './Thumb';
import { nearestFilledSlot, TOUCH_SNAP_PX } from '../slotPick';

/** A colour per label (golden-angle hues) and an age shade. */
export function labelColour(label: number, age: number, maxAge: number): string {
  if (label < 0) return 'var(--slot-empty)'; // light or dark with the theme (app.css)
  const hue = (label * 137.508) % 360;
  const light = 40 + 45 * (maxAge > 0 ? Math.min(1, age / maxAge) : 0);
  return `hsl(${hue.toFixed(0)} 65% ${light.toFixed(0)}%)`;
}

const MAX_GRID = 4096; // beyond this the grid shows the first slots and says so
const MAP_POINTS = 300;
const MAP_HEIGHT = 320;

/** Every slot at a glance, the age histogram, the 2-D key map and the LSH buckets. */
export function MemoryView() {
  const summary = useApp((s) => s.summary);
  const lastWrite = useApp((s) => s.lastWrite);
  const prediction = useApp((s) => s.prediction);
  const lookup = useApp((s) => s.settings.lookup);
  const readOnly = useApp((s) => s.readOnly);
  const busy = useApp((s) => s.busy);
  const forgetSlot = useApp((s) => s.forgetSlot);
  const [selected, setSelected] = useState<number | null>(null);
  // the pointer that pressed (a click is not a PointerEvent in every browser, e.g. older Safari)
  const pressedWith = useRef('');
  const detail = useRef<HTMLDivElement>(null);
  // (after React has shown the details of a new pick)
  const focusDetail = () => setTimeout(() => detail.current?.focus(), 0);
  // a slot picked in the grid: its details (below the grid) come into view, without taking the focus
  const showDetail = () => setTimeout(() => detail.current?.scrollIntoView({ block: 'nearest' }), 0);
  // what "Forget this drawing" did, said in the slot's details with its Undo (the banner that says it
  // too is at the top of the page, out of view on a phone)
  const [forgot, setForgot] = useState<{ slot: number; text: string; undo: () => void; version?: number } | null>(null);
  const summaryVersion = summary?.version;
  if (!summary) return <p>starting…</p>;
  const { values, ages, size, filled } = summary;
  let maxAge = 0;
  for (let i = 0; i < size; i++) if (values[i] >= 0 && ages[i] > maxAge) maxAge = ages[i];
  const touched = new Set(lastWrite?.touched ?? []);
  const candidates = new Set(lookup === 'lsh' ? (prediction?.buckets ?? []).flatMap((b) => b.slots) : []);
  const shown = Math.min(size, MAX_GRID);
  // a few filled slots in a large memory: a small grid, so the drawings (the gallery) come first
  const gridWidth = filled < 64 ? 'min(360px, 100%)' : undefined;

  return (
    <section className="panel memory-view" aria-labelledby="mem-h" data-testid="memory-view">
      <h2 id="mem-h">Memory</h2>
      <p data-testid="memory-fill">
        {filled} of {size} slots filled · {summary.labels.length} {summary.labels.length === 1 ? 'label' : 'labels'} · key size {summary.keySize}
      </p>
      <Gallery
        version={summary.version}
        onPick={(slot) => {
          // a drawing picked in the gallery (by keyboard too): its details get the focus, Forget is one Tab away
          setSelected(slot);
          focusDetail();
        }}
      />
      <h3>Every slot</h3>
      <p className="muted">Tap or click a slot (or a drawing above) to see what it holds.</p>
      <div
        className="slot-grid"
        role="list"
        aria-label={`memory slots, ${filled} of ${size} filled`}
        data-testid="slot-grid"
        style={{ gridTemplateColumns: `repeat(${Math.ceil(Math.sqrt(shown))}, 1fr)`, maxWidth: gridWidth }}
        onPointerDown={(e) => {
          pressedWith.current = e.pointerType;
        }}
        onClick={(e) => {
          const hit = (e.target as HTMLElement).closest('[data-slot]')?.getAttribute('data-slot');
          let slot = hit != null ? Number(hit) : null;
          // a finger is wider than a slot (1,024 slots on a phone are ~10 px): a tap on or between
          // empty slots picks the nearest filled one within reach
          const pointer = (e.nativeEvent as Partial<PointerEvent>).pointerType || pressedWith.current;
          if ((pointer === 'touch' || pointer === 'pen') && (slot === null || values[slot] < 0)) {
            const grid = e.currentTarget;
            const near = nearestFilledSlot(
              values.subarray(0, shown),
              (i) => {
                const r = grid.children[i]?.getBoundingClientRect();
                return r ? { x: r.left + r.width / 2, y: r.top + r.height / 2 } : null;
              },
              e.clientX,
              e.clientY,
              TOUCH_SNAP_PX,
            );
            if (near !== null) slot = near;
          }
          if (slot !== null) {
            setSelected(slot);
            showDetail();
          }
        }}
      >
        {Array.from({ length: shown }, (_, i) => {
          const v = values[i];
          const name = v >= 0 ? getEngine().labelName(v) : '';
          return (
            <div
              key={i}
              role="listitem"
              className={`slot${touched.has(i) ? ' touched' : ''}${candidates.has(i) ? ' candidate' : ''}${selected === i ? ' selected' : ''}`}
              data-testid="slot"
              data-slot={i}
              data-label={name}
              data-age={v >= 0 ? ages[i] : ''}
              style={{ background: labelColour(v, ages[i], maxAge) }}
              title={v >= 0 ? `slot ${i}: ${name}, age ${ages[i]}` : `slot ${i}: empty`}
            />
          );
        })}
      </div>
      {shown < size && <p className="muted">showing the first {shown} of {size} slots</p>}
      {selected !== null && selected < size && (
        <div className="slot-detail" data-testid="slot-detail" aria-live="polite" tabIndex={-1} ref={detail} aria-label={`slot ${selected} details`}>
          <Thumb image={values[selected] >= 0 ? getEngine().thumbnail(selected) : null} size={56} />
          <p>
            Slot {selected}:{' '}
            {values[selected] >= 0 ? (
              <>
                “{getEngine().labelName(values[selected])}”, age {ages[selected]} (writes since it was stored)
              </>
            ) : (
              'empty'
            )}
          </p>
          {values[selected] >= 0 && !readOnly && (
            <button
              type="button"
              data-testid="forget-slot"
              disabled={busy}
              // the button goes with the drawing: the focus stays on the (now empty) slot's details
              onClick={() =>
                void forgetSlot(selected).then((ok) => {
                  const m = useApp.getState().message;
                  if (ok && m?.action) setForgot({ slot: selected, text: m.text, undo: m.action.run, version: m.action.validFor });
                  focusDetail();
                })
              }
            >
              Forget this drawing
            </button>
          )}
          {forgot?.slot === selected && values[selected] < 0 && (
            <p className="forgot-said" role="status" data-testid="forgot-said">
              {forgot.text.replace(/^forgot/, 'Forgot')}.{' '}
              {(forgot.version === undefined || forgot.version === summaryVersion) && (
                <button
                  type="button"
                  data-testid="forgot-undo"
                  onClick={() => {
                    forgot.undo();
                    setForgot(null);
                    focusDetail();
                  }}
                >
                  Undo
                </button>
              )}
            </p>
          )}
          <button type="button" aria-label="close slot details" onClick={() => setSelected(null)}>
            ×
          </button>
        </div>
      )}
      <p className="legend muted">
        colour = label, lighter = older; red outline = touched by the last write
        {lookup === 'lsh' && '; dark dot = a candidate of the last query (in one of its LSH buckets)'}
      </p>
      <div className="charts">
        <AgeHistogram values={values} ages={ages} version={summary.version} />
        <KeyMap version={summary.version} total={filled} />
      </div>
      {lookup === 'lsh' && (
        <div data-testid="lsh-buckets">
          <h3>LSH buckets of the last query</h3>
          {prediction?.buckets?.length ? (
            <>
              <p data-testid="lsh-candidates">
                {candidates.size} candidate slot{candidates.size === 1 ? '' : 's'} re-ranked exactly, out of {filled} filled
                {candidates.size === filled && filled > 1 && '. Every filled slot is a candidate: at this memory size LSH compares the query with all of them, as exact does (it pays off for large memories)'}
              </p>
              <p>
                {prediction.buckets.map((b) => (
                  <span key={b.table} className="bucket" title={`slots ${b.slots.join(', ') || 'none'}`}>
                    table {b.table}: own bucket {b.code.toString(2).padStart(b.bits, '0')}
                    {b.probed.length > 1 ? ` + ${b.probed.length - 1} more probed` : ''} ({b.slots.length} candidate{b.slots.length === 1 ? '' : 's'})
                  </span>
                ))}
              </p>
            </>
          ) : (
            <p className="muted">draw something to see which buckets the query probes</p>
          )}
        </div>
      )}
    </section>
  );
}

function AgeHistogram({ values, ages, version }: { values: Int32Array; ages: Float32Array; version: number }) {
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const data = useMemo(() => ageBins(values, ages), [version]);
  return (
    <figure data-testid="age-histogram">
      <figcaption>ages of the filled slots: how many slots (height) have each age (across: writes since the slot was last written; the oldest are replaced first, give or take the age noise)</figcaption>
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={data} title="bar chart: number of slots by age; arrow keys step through the bars">
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="age" tick={{ fontSize: 12 }} />
          {/* whole counts, and no taller than the highest bar needs (recharts' nice ticks went to 4 for 1) */}
          <YAxis allowDecimals={false} width={30} tick={{ fontSize: 12 }} domain={[0, 'dataMax']} tickCount={Math.min(5, Math.max(2, ...data.map((d) => d.slots + 1)))} />
          <Tooltip />
          <Bar dataKey="slots" fill="#6a8f3b" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

function KeyMap({ version, total }: { version: number; total: number }) {
  const points = useMemo((): MapPoint[] => {
    const e = getEngine();
    const { slots, keys } = e.filledKeys();
    if (slots.length < 2) return [];
    // the newest slots first when there are too many to draw
    const { values, ages } = e.summary();
    const order = slots.map((s, j) => ({ s, j })).sort((a, b) => ages[a.s] - ages[b.s]).slice(0, MAP_POINTS);
    const d = e.keySize;
    const sub = new Float32Array(order.length * d);
    order.forEach((o, i) => sub.set(keys.subarray(o.j * d, (o.j + 1) * d), i * d));
    const xy = pca2(sub, order.length, d);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < order.length; i++) {
      x0 = Math.min(x0, xy[2 * i]); x1 = Math.max(x1, xy[2 * i]);
      y0 = Math.min(y0, xy[2 * i + 1]); y1 = Math.max(y1, xy[2 * i + 1]);
    }
    // an axis without spread (all keys alike along it) puts every point in its middle, not at an edge
    const at = (v: number, lo: number, hi: number) => (hi - lo > 1e-9 ? (v - lo) / (hi - lo) : 0.5);
    return order.map((o, i) => ({
      slot: o.s,
      label: values[o.s],
      name: e.labelName(values[o.s]),
      x: at(xy[2 * i], x0, x1),
      y: at(xy[2 * i + 1], y0, y1),
      age: ages[o.s],
    }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [version]);
  const area = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    setWidth(el.clientWidth);
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const placed = useMemo(() => (width > 0 && points.length > 0 ? layoutKeyMap(points, width, MAP_HEIGHT) : []), [points, width]);
  const carded = placed.filter((p) => p.card).length;
  return (
    <figure className="key-map" data-testid="key-map">
      <figcaption>
        2-D map of the stored keys (PCA){' '}
        {placed.length > carded && (
          <span className="muted" data-testid="key-map-note">
            · a dot for each {total > placed.length ? `of the newest ${placed.length} of ${total.toLocaleString('en')} drawings` : 'drawing'}, its picture and name where there is room
          </span>
        )}
      </figcaption>
      <div className="key-map-area" ref={area} style={{ height: MAP_HEIGHT }}>
        {points.length === 0 && <p className="muted">remember at least two drawings</p>}
        <svg className="key-map-lines" width="100%" height="100%" aria-hidden="true">
          {placed.map((p) =>
            p.card && Math.hypot(p.card.left + p.card.width / 2 - p.dotX, p.card.top + 13 - p.dotY) > 1 ? (
              <line key={p.slot} x1={p.dotX} y1={p.dotY} x2={p.card.left + p.card.width / 2} y2={p.card.top + 13} />
            ) : null,
          )}
        </svg>
        {placed.map((p) => (
          <span key={`d${p.slot}`} className="key-map-dot" style={{ left: p.dotX, top: p.dotY, background: labelColour(p.label, 0, 0) }} title={`slot ${p.slot}: ${p.name}`} />
        ))}
        {placed.map((p) =>
          p.card ? (
            <div key={p.slot} className="key-map-point" data-slot={p.slot} style={{ left: p.card.left, top: p.card.top, width: p.card.width }} title={`slot ${p.slot}: ${p.name}`}>
              <Thumb image={getEngine().thumbnail(p.slot)} size={26} />
              <span>{p.name}</span>
            </div>
          ) : null,
        )}
      </div>
    </figure>
  );
}

const GALLERY_LABELS = 60;
const PER_LABEL = 10;

/** The class gallery: each label with its stored drawings (the youngest first). */
function Gallery({ version, onPick }: { version: number; onPick: (slot: number) => void }) {
  const groups = useMemo(() => {
    const e = getEngine();
    const { values, ages, labels } = e.summary();
    const byLabel = new Map<number, number[]>();
    values.forEach((v, i) => {
      if (v < 0) return;
      const list = byLabel.get(v);
      if (list) list.push(i);
      else byLabel.set(v, [i]);
    });
    return labels
      .filter((l) => byLabel.has(l.id))
      .slice(0, GALLERY_LABELS)
      .map((l) => ({ ...l, slots: byLabel.get(l.id)!.sort((a, b) => ages[a] - ages[b]).slice(0, PER_LABEL) }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [version]);
  const total = getEngine().summary().labels.length;
  if (!groups.length) return <p className="muted">Nothing stored yet: draw a symbol, name it, press Remember.</p>;
  return (
    <div className="gallery" data-testid="gallery">
      <h3>Stored drawings by name</h3>
      {groups.map((g) => (
        <div key={g.id} className="gallery-row" data-testid="gallery-row" data-label={g.name}>
          <span className="g-name">
            {g.name} <span className="muted">({g.count})</span>
          </span>
          <span className="g-thumbs">
            {g.slots.map((s) => (
              <button key={s} type="button" className="g-thumb" data-testid="gallery-thumb" data-slot={s} aria-label={`${g.name}, slot ${s}: show its details`} onClick={() => onPick(s)}>
                <Thumb image={getEngine().thumbnail(s)} size={40} title={`slot ${s}: ${g.name}`} />
              </button>
            ))}
          </span>
        </div>
      ))}
      {total > groups.length && <p className="muted">and {total - groups.length} more names (see Labels)</p>}
    </div>
  );
}
