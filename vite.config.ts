import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';
import { createReadStream, existsSync, statSync, readdirSync, mkdirSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve, sep, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Files that live outside public/ but must be served at a URL prefix in dev and preview, and copied
 * into dist/ at build, without duplicating them in git:
 *   /models/**   <- models/            (the bundled TF.js encoder: model.json + weight shards)
 *   /tfjs-wasm/* <- the .wasm binaries of @tensorflow/tfjs-backend-wasm (passed to setWasmPaths)
 */
const STATIC_DIRS: { url: string; dir: string; filter?: (name: string) => boolean }[] = [
  { url: '/models/', dir: resolve(root, 'models') },
  {
    url: '/tfjs-wasm/',
    dir: resolve(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
    filter: (n) => n.endsWith('.wasm'),
  },
];

const MIME: Record<string, string> = {
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.md': 'text/markdown; charset=utf-8',
};

function listFiles(dir: string, filter?: (n: string) => boolean, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(dir, e.name), filter, rel));
    else if (e.isFile() && (!filter || filter(e.name))) out.push(rel);
  }
  return out;
}

function staticDirs(): Plugin {
  const serve = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    for (const s of STATIC_DIRS) {
      if (!url.startsWith(s.url)) continue;
      const rel = url.slice(s.url.length);
      const file = resolve(s.dir, rel);
      if (!file.startsWith(s.dir + sep) || (s.filter && !s.filter(rel))) break;
      if (!existsSync(file) || !statSync(file).isFile()) break;
      res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
      res.setHeader('Cache-Control', 'no-cache');
      createReadStream(file).pipe(res);
      return;
    }
    next();
  };
  let outDir = resolve(root, 'dist');
  return {
    name: 'memory-lab-static-dirs',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(serve);
    },
    configurePreviewServer(server) {
      // preview serves dist/, which already holds the copies; this keeps it working before a rebuild.
      server.middlewares.use(serve);
    },
    closeBundle() {
      for (const s of STATIC_DIRS) {
        for (const rel of listFiles(s.dir, s.filter)) {
          const dest = join(outDir, s.url, rel);
          mkdirSync(dirname(dest), { recursive: true });
          copyFileSync(join(s.dir, rel), dest);
        }
      }
    },
  };
}

/**
 * A Content-Security-Policy for the built app (a static app: everything from its own origin; WASM
 * compiled by tfjs-backend-wasm; blob: for downloads and workers). Not in dev, where Vite injects
 * inline scripts.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  // the Benchmark's "Download the official evaluation zip" (src/eval/omniglot.ts OMNIGLOT_EVALUATION_URL)
  "connect-src 'self' data: blob: https://raw.githubusercontent.com",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'memory-lab-csp',
    apply: 'build',
    transformIndexHtml: (html) => html.replace('<meta charset="UTF-8" />', `<meta charset="UTF-8" />\n    <meta http-equiv="Content-Security-Policy" content="${CSP}" />`),
  };
}

/**
 * Installable and offline after the first visit: a Workbox service worker precaches the app, the
 * encoder (models/) and the TF.js WASM binaries, all copied into dist/ by staticDirs() above (its
 * closeBundle runs first, synchronously, so the precache glob sees them).
 */
const pwa = VitePWA({
  registerType: 'autoUpdate',
  injectRegister: 'script',
  includeAssets: ['favicon.svg'],
  manifest: {
    name: 'Memory Lab',
    short_name: 'Memory Lab',
    description: 'Draw a symbol once, name it once: a memory that recognises it from then on.',
    start_url: '.',
    display: 'standalone',
    background_color: '#f5f5f2',
    theme_color: '#2f5fc4',
    icons: [{ src: 'favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
  },
  workbox: {
    globPatterns: ['**/*.{js,css,html,svg,png,wasm,json,bin,md}'],
    maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
    clientsClaim: true,
    skipWaiting: true,
    navigateFallback: 'index.html',
  },
});

export default defineConfig({
  plugins: [react(), staticDirs(), contentSecurityPolicy(), pwa],
  server: { port: 5173, strictPort: true },
  preview: { port: 4173, strictPort: true },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
});
