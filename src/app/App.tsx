import { useEffect, useState } from 'react';
import { backendFromUrl, startBackend, type BackendReport } from './tfjsBackend';

export function App() {
  const [report, setReport] = useState<BackendReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    startBackend(backendFromUrl()).then(setReport, (e: unknown) => setError(String(e)));
  }, []);
  return (
    <main className="app">
      <h1>Memory Lab</h1>
      {error && <p role="alert">{error}</p>}
      <p>
        TensorFlow.js backend: <strong data-testid="backend-name">{report ? report.name : 'starting…'}</strong>
      </p>
      {report && report.skipped.length > 0 && (
        <ul data-testid="backend-skipped">
          {report.skipped.map((s) => (
            <li key={s.name}>
              {s.name} skipped: {s.reason}
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
