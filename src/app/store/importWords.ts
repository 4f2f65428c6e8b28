/** The words of each way a memory is imported (the store, the copies kept aside, Compare's notice). */

/** where an imported memory comes from: a file, a shared link, or the user's own memory put aside */
export type ImportSource = 'file' | 'link' | 'previous' | 'aside';
/** each import's words: refused, done, and what replaced the memory (a copy's reason, Compare's notice) */
export const IMPORT_WORDS: Record<ImportSource, { refused: string; done: string; what: string }> = {
  file: { refused: 'import refused, the memory is unchanged', done: 'memory imported', what: 'an imported file' },
  link: { refused: 'the shared memory was not opened, your memory is unchanged', done: 'shared memory opened', what: 'a shared memory (link)' },
  previous: { refused: 'your earlier memory was not brought back, the memory is unchanged', done: 'your earlier memory is back', what: 'your earlier memory (brought back)' },
  aside: { refused: 'the copy kept aside was not opened, the memory is unchanged', done: 'copy kept aside opened', what: 'a copy kept aside' },
};
