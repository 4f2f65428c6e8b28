import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The bundled encoder lives in models/ and is served as static files from public/models
// (a copy made by scripts/sync-models? no: publicDir points at public/, and models/ is
// exposed through the `models` alias below).
export default defineConfig({
  plugins: [react()],
  server: { port: 5173, strictPort: true },
  preview: { port: 4173, strictPort: true },
  optimizeDeps: { exclude: ['@tensorflow/tfjs-backend-wasm'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
});
