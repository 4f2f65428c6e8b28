/**
 * Evaluation (plain TS, browser-safe): the Omniglot loader, images -> classes and embeddings, the
 * protocols on the key-value memory, and the whole benchmark with its report. Node file access
 * (OMNIGLOT_DIR) is in ./omniglotNode; the CLI is scripts/eval.ts (`npm run eval`).
 */
export * from './omniglot';
export * from './dataset';
export * from './protocols';
export * from './benchmark';
