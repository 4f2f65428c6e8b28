import { useCallback, useEffect, useRef } from 'react';
import type { Stroke, StrokePoint } from '../../strokes';
import { pressureWidthFactor } from '../../strokes';

interface Props {
  strokes: readonly Stroke[];
  onStroke: (stroke: StrokePoint[]) => void;
  /** line width on screen at pressure 0.5, CSS px */
  lineWidth?: number;
  disabled?: boolean;
}

/**
 * Stroke coordinates are in a SIZE x SIZE space whatever the size on screen (CSS sizes the canvas to
 * the screen: see .drawing-canvas in app.css); the stroke model normalises scale anyway.
 */
const SIZE = 320;

function paint(ctx: CanvasRenderingContext2D, strokes: readonly Stroke[], lineWidth: number) {
  // the whole bitmap, in device pixels: under the SIZE -> screen transform a canvas drawn smaller
  // than SIZE device pixels (scale < 1) kept old ink outside the cleared corner
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.restore();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#111';
  ctx.fillStyle = '#111';
  for (const s of strokes) paintStroke(ctx, s, lineWidth);
}

function paintStroke(ctx: CanvasRenderingContext2D, s: Stroke, lineWidth: number, from = 1) {
  if (s.length === 1 && from <= 1) {
    ctx.beginPath();
    ctx.arc(s[0].x, s[0].y, (lineWidth * pressureWidthFactor(s[0].pressure)) / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  for (let i = Math.max(1, from); i < s.length; i++) {
    const a = s[i - 1], b = s[i];
    ctx.lineWidth = lineWidth * pressureWidthFactor((a.pressure + b.pressure) / 2);
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }
}

/**
 * The drawing surface: pointer events (mouse, touch, pen with pressure), one stroke per
 * pointerdown..pointerup. Completed strokes come from the store; the stroke in progress is kept
 * here and drawn incrementally so the pen never waits for React or the model.
 */
export function DrawingCanvas({ strokes, onStroke, lineWidth = 10, disabled = false }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  const current = useRef<StrokePoint[] | null>(null);
  const pointerId = useRef<number | null>(null);

  const ctx = useCallback(() => {
    const c = ref.current;
    const g = c?.getContext('2d');
    if (!c || !g) return null;
    const dpr = window.devicePixelRatio || 1;
    const css = c.clientWidth || SIZE;
    const px = Math.round(css * dpr);
    if (c.width !== px) {
      c.width = px;
      c.height = px;
    }
    const scale = px / SIZE;
    g.setTransform(scale, 0, 0, scale, 0, 0);
    return g;
  }, []);

  useEffect(() => {
    const g = ctx();
    if (g) paint(g, strokes, lineWidth);
  }, [strokes, lineWidth, ctx]);

  // the canvas follows the screen size (rotation, window resize): repaint at the new resolution
  const latest = useRef(strokes);
  latest.current = strokes;
  useEffect(() => {
    const c = ref.current;
    if (!c || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      const g = ctx();
      if (g) paint(g, latest.current, lineWidth);
    });
    ro.observe(c);
    return () => ro.disconnect();
  }, [ctx, lineWidth]);

  const pointOf = (e: PointerEvent | React.PointerEvent): StrokePoint => {
    const r = ref.current!.getBoundingClientRect();
    const sx = SIZE / r.width, sy = SIZE / r.height;
    // mouse reports 0.5 while a button is down; pens report their pressure; 0 means "unknown"
    const pressure = e.pointerType === 'mouse' || e.pressure === 0 ? 0.5 : e.pressure;
    // a stroke that runs past the edge stays on its border (the pointer is captured): what the
    // network sees is what the canvas shows, never an invisible part outside it
    const clamp = (v: number) => Math.min(SIZE, Math.max(0, v));
    return { x: clamp((e.clientX - r.left) * sx), y: clamp((e.clientY - r.top) * sy), pressure, t: e.timeStamp };
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (disabled || pointerId.current !== null) return;
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    e.preventDefault();
    try {
      ref.current!.setPointerCapture?.(e.pointerId);
    } catch {
      /* the pointer is not active any more (e.g. synthetic events): draw without capture */
    }
    ref.current!.focus({ preventScroll: true });
    pointerId.current = e.pointerId;
    current.current = [pointOf(e)];
    const g = ctx();
    if (g) paintStroke(g, current.current, lineWidth);
  };

  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (pointerId.current !== e.pointerId || !current.current) return;
    const native = e.nativeEvent;
    const events = typeof native.getCoalescedEvents === 'function' ? native.getCoalescedEvents() : [];
    const s = current.current;
    const from = s.length;
    for (const ev of events.length ? events : [native]) s.push(pointOf(ev));
    const g = ctx();
    if (g) paintStroke(g, s, lineWidth, from);
  };

  const finish = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (pointerId.current !== e.pointerId) return;
    pointerId.current = null;
    const s = current.current;
    current.current = null;
    if (s && s.length) onStroke(s);
  };

  return (
    <canvas
      ref={ref}
      className="drawing-canvas"
      data-testid="drawing-canvas"
      role="img"
      aria-label="Drawing area: draw a symbol with mouse, pen or finger"
      tabIndex={0}
      style={{ touchAction: 'none' }}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={finish}
      onPointerCancel={finish}
    />
  );
}
