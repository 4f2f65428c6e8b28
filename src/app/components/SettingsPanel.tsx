import { useEffect, useState } from 'react';
import { useApp } from '../store';
import type { BackendChoice, LookupMode, Settings } from '../types';

const fmt = (ms: number | null) => (ms === null ? '—' : `${ms.toFixed(1)} ms`);

/** Memory and lookup settings, the backend choice, the backend in use and live latencies. */
export function SettingsPanel() {
  const settings = useApp((s) => s.settings);
  const apply = useApp((s) => s.applySettings);
  const busy = useApp((s) => s.busy);
  const [draft, setDraft] = useState<Settings>(settings);
  useEffect(() => setDraft(settings), [settings]);

  const num = (key: keyof Settings, label: string, min: number, step: number, max?: number) => (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        data-testid={`setting-${key}`}
        min={min}
        max={max}
        step={step}
        value={draft[key] as number}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.valueAsNumber })}
      />
    </label>
  );
  const invalid =
    !Number.isInteger(draft.memorySize) || draft.memorySize < 1 || draft.memorySize > 500_000 ||
    !Number.isInteger(draft.k) || draft.k < 1 ||
    !(draft.t > 0) || !(draft.alpha >= 0) || !(draft.ageNoise >= 0);

  return (
    <section className="panel settings" aria-labelledby="settings-h">
      <h2 id="settings-h">Settings</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void apply(draft);
        }}
      >
        {num('memorySize', 'memory size (slots)', 1, 1, 500_000)}
        {num('k', 'k (neighbours)', 1, 1)}
        {num('t', 'inverse temperature t', 0.1, 0.1)}
        {num('alpha', 'margin alpha', 0, 0.01)}
        {num('ageNoise', 'age noise amplitude', 0, 1)}
        <label className="field">
          <span>lookup</span>
          <select data-testid="setting-lookup" value={draft.lookup} onChange={(e) => setDraft({ ...draft, lookup: e.target.value as LookupMode })}>
            <option value="exact">exact (matmul + top-k)</option>
            <option value="lsh">LSH (hashed candidates, re-ranked)</option>
          </select>
        </label>
        <label className="field">
          <span>backend</span>
          <select data-testid="setting-backend" value={draft.backend} onChange={(e) => setDraft({ ...draft, backend: e.target.value as BackendChoice })}>
            <option value="auto">auto (WebGPU → WebGL → WASM)</option>
            <option value="webgpu">WebGPU</option>
            <option value="webgl">WebGL</option>
            <option value="wasm">WASM</option>
          </select>
        </label>
        <button type="submit" data-testid="apply-settings" disabled={busy || invalid}>
          Apply
        </button>
        {invalid && <p className="error">memory size 1..500000 and k integers ≥ 1; t &gt; 0; alpha, age noise ≥ 0</p>}
        <p className="muted">
          A smaller memory keeps the youngest slots; changing the backend keeps the memory. The backend in use and
          the live encode / query / write latencies are shown at the top of the page.
        </p>
      </form>
    </section>
  );
}

/** Backend in use and the latest latencies. */
export function Status() {
  const backend = useApp((s) => s.backend);
  const latency = useApp((s) => s.latency);
  const e2e = useApp((s) => s.lastPredictionLatencyMs);
  const fallback = useApp((s) => s.lastFallback);
  return (
    <dl className="status" aria-label="engine status">
      <dt>backend</dt>
      <dd data-testid="backend-name">{backend ? backend.name : 'starting…'}</dd>
      {backend && backend.skipped.length > 0 && (
        <>
          <dt>skipped</dt>
          <dd data-testid="backend-skipped" className="muted">
            {backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}
          </dd>
        </>
      )}
      {fallback && (
        <>
          <dt>fallback</dt>
          <dd data-testid="backend-fallback">{fallback}</dd>
        </>
      )}
      <dt>encode</dt>
      <dd data-testid="latency-encode">{fmt(latency.encodeMs)}</dd>
      <dt>query</dt>
      <dd data-testid="latency-query">{fmt(latency.queryMs)}</dd>
      <dt>write</dt>
      <dd data-testid="latency-write">{fmt(latency.writeMs)}</dd>
      <dt>stroke → prediction</dt>
      <dd data-testid="latency-e2e">{fmt(e2e)}</dd>
    </dl>
  );
}
