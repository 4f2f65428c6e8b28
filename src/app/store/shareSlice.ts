/**
 * Opening a shared memory link (#memory=..., src/app/share.ts) on this device. The link is decoded
 * and validated like an imported file as soon as the app is ready; a bad one is refused with a
 * message and changes nothing. A good one is never applied silently: the user picks "open it" or
 * "keep mine". Opening it first puts the user's own memory aside in this browser (the store that
 * keeps unrestorable saves, src/app/autosave.ts), so it can be downloaded or brought back, then
 * goes through the store's importText, the one import path (validation, re-encoding when the link
 * was made with another encoder, autosave).
 */
import type { StateCreator } from 'zustand';
import { asideToText, deleteAside, listAside, putAside, readAside, storedOf, type AsideSummary } from '../autosave';
import type { Engine } from '../engine';
import { payloadOfHash, sharedMemoryOfPayload, shareLinkOf, type ShareLink } from '../share';
import { IMPORT_WORDS, type ImportSource } from './importWords';
import type { AppState } from './index';

/** A shared memory waiting for the user's answer. */
export interface IncomingShare {
  drawings: number;
  labels: string[];
  /** the encoder that made its keys, and whether this device re-encodes them (another encoder) */
  encoder: string;
  reencode: boolean;
  /** the link's memory file JSON (already validated; keys may be left out: fromLinkText) */
  fileText: string;
  /** how many drawings the memory on this device holds now (what "open it" puts aside) */
  mine: number;
}

export interface ShareSlice {
  /**
   * The link that opens this memory on another device (or why there is none), the keys this
   * device's encoder gives back from their drawings left out (Engine.shareable).
   * @param pageUrl the app's address (location.origin + location.pathname)
   */
  makeShareLink: (pageUrl: string) => Promise<ShareLink>;
  incoming: IncomingShare | null;
  /** the user's memory put aside when a shared one replaced it */
  previous: { key: number; drawings: number } | null;
  /** Read a memory link from the address (call once the app is ready); false when there is none or it was refused. */
  checkSharedLink: (hash: string) => boolean;
  /** Replace this device's memory by the shared one, the current one put aside first. */
  openIncoming: () => Promise<boolean>;
  /**
   * Import a memory file's text (the store's importText), the current memory put aside first when
   * it holds drawings, so that a wrong file never loses the user's memory. False when refused.
   */
  importKeepingMine: (text: string, source: ImportSource) => Promise<boolean>;
  /** Leave the memory as it is and forget the link. */
  keepMine: () => void;
  /** the memory put aside, as a memory file's text (download) */
  previousText: () => Promise<string>;
  /** Bring the memory put aside back; the memory it replaces (the shared one and what was remembered since) is kept aside in turn. */
  restorePrevious: () => Promise<boolean>;
  /** every copy kept aside in this browser, newest first (null: not read yet) */
  asideCopies: AsideSummary[] | null;
  /** Read the list of copies kept aside (Labels → Copies kept aside). */
  refreshAside: () => Promise<void>;
  /** a copy kept aside as a memory file's text (download) */
  asideText: (key: number) => Promise<string>;
  /** Open a copy kept aside: it replaces the memory, the current one kept aside first. False when refused. */
  openAside: (key: number) => Promise<boolean>;
  /** Delete a copy kept aside, on the user's word; the notices that offered it go. */
  deleteAsideCopy: (key: number) => Promise<boolean>;
}

export interface ShareSliceDeps {
  engine: () => Engine | null;
  changeRefused: (s: AppState) => string | null;
}


const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The address without the memory link (the link is read once; a reload does not ask again). */
function forgetLinkInAddress(): void {
  if (typeof history === 'undefined' || typeof location === 'undefined') return;
  if (payloadOfHash(location.hash) === null) return;
  history.replaceState(history.state, '', `${location.pathname}${location.search}#draw`);
}


export const createShareSlice =
  (deps: ShareSliceDeps): StateCreator<AppState, [], [], ShareSlice> =>
  (set, get) => ({
    makeShareLink: async (pageUrl) => {
      const e = deps.engine();
      if (!e) throw new Error('the app is not ready yet');
      // a memory too large for a link even without its keys is not encoded again for nothing; the
      // link tried for that is usually the one shared (every key left out): it is not made twice
      const tried: { text?: string; link?: ShareLink } = {};
      const { fileText, keyless } = await e.shareable((text) => {
        tried.text = text;
        tried.link = shareLinkOf(text, pageUrl, true);
        return tried.link.kind === 'link';
      });
      if (tried.link && tried.text === fileText) return tried.link;
      // too large even with every key left out: that link, the shortest there is, is the one whose
      // length is said (the file with every key would overstate how much has to go)
      if (tried.link && tried.link.kind === 'too-large' && keyless.size === 0) return tried.link;
      return shareLinkOf(fileText, pageUrl, keyless.size > 0);
    },
    incoming: null,
    previous: null,
    checkSharedLink: (hash) => {
      const payload = payloadOfHash(hash);
      const e = deps.engine();
      if (payload === null || !e) return false;
      try {
        const { saved, fileText } = sharedMemoryOfPayload(payload, { keySize: e.keySize, encoder: e.encoderEntry.name, entry: e.encoderEntry });
        const names = new Map(saved.labels.map((l) => [l.id, l.name]));
        const counts = new Map<number, number>();
        for (const s of saved.slots) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
        set({
          incoming: {
            drawings: saved.slots.length,
            labels: [...counts.keys()].map((id) => names.get(id) ?? `#${id}`),
            encoder: saved.encoder ?? '?',
            reencode: saved.encoder !== e.encoderEntry.name,
            fileText,
            mine: e.summary().filled,
          },
        });
        return true;
      } catch (err) {
        forgetLinkInAddress();
        set({ message: { kind: 'error', text: `The shared memory link could not be opened, your memory is unchanged: ${errorText(err)}`, tab: null } });
        return false;
      }
    },
    openIncoming: async () => {
      const inc = get().incoming;
      const e = deps.engine();
      if (!inc || !e) return false;
      const refused = deps.changeRefused(get());
      if (refused) {
        set({ message: { kind: 'error', text: `the shared memory was not opened: ${refused}`, tab: null } });
        return false;
      }
      const ok = await get().importKeepingMine(inc.fileText, 'link');
      if (ok) {
        forgetLinkInAddress();
        set({ incoming: null });
      }
      return ok;
    },
    importKeepingMine: async (text, source) => {
      const e = deps.engine();
      const by = IMPORT_WORDS[source].what;
      let previous: ShareSlice['previous'] = null;
      // importText validates first and runs this only for a good file, while it holds busy (no
      // Remember lands between the copy and the import); a bad file keeps no copy
      const keepMine = async () => {
        if (!e || e.summary().filled === 0) return;
        try {
          // the list of copies shows when (the record's own time), so the reason says only why
          const key = await putAside(storedOf(e.saved()), `replaced by ${by}`);
          previous = { key, drawings: e.summary().filled };
        } catch (err) {
          throw new Error(`your own memory could not be kept aside first (${errorText(err)}). Export it to a file (Labels → Keep a copy), then try again`);
        }
      };
      const versionBefore = e?.summary().version;
      const ok = await get().importText(text, source, keepMine);
      if (ok && previous) set({ previous });
      const kept = previous as ShareSlice['previous'];
      if (!ok && kept && e && e.summary().version === versionBefore) {
        // the import failed after the copy and left the memory as it was: the copy, "replaced by",
        // would say what did not happen; it goes (the memory on screen is the same drawings)
        await deleteAside(kept.key).catch(() => undefined);
      }
      if (kept) void get().refreshAside();
      return ok;
    },
    keepMine: () => {
      forgetLinkInAddress();
      set({ incoming: null, message: { kind: 'info', text: 'the shared memory was not opened: your memory is unchanged', tab: null } });
    },
    previousText: async () => {
      const p = get().previous;
      const copy = p ? await readAside(p.key) : undefined;
      if (!copy) throw new Error('the copy put aside is no longer in this browser');
      return asideToText(copy);
    },
    restorePrevious: async () => {
      let text: string;
      try {
        text = await get().previousText();
      } catch (err) {
        set({ message: { kind: 'error', text: `your earlier memory could not be brought back: ${errorText(err)}`, tab: null } });
        return false;
      }
      // the memory in use (the shared or imported one, and whatever was remembered since) is kept
      // aside first, as for every other replace, and becomes the one offered back
      const was = get().previous;
      const ok = await get().importKeepingMine(text, 'previous');
      if (ok && get().previous?.key === was?.key) set({ previous: null });
      void get().refreshAside();
      return ok;
    },
    asideCopies: null,
    refreshAside: async () => {
      try {
        set({ asideCopies: await listAside() });
      } catch (err) {
        set({ asideCopies: [], message: { kind: 'warning', text: `the copies kept aside in this browser could not be read: ${errorText(err)}`, tab: null } });
      }
    },
    asideText: async (key) => {
      const copy = await readAside(key);
      if (!copy) throw new Error('that copy is no longer in this browser');
      return asideToText(copy);
    },
    openAside: async (key) => {
      let text: string;
      try {
        text = await get().asideText(key);
      } catch (err) {
        set({ message: { kind: 'error', text: `the copy kept aside could not be opened: ${errorText(err)}`, tab: null } });
        return false;
      }
      const ok = await get().importKeepingMine(text, 'aside');
      void get().refreshAside();
      return ok;
    },
    deleteAsideCopy: async (key) => {
      const refused = deps.changeRefused(get());
      if (refused) {
        set({ message: { kind: 'error', text: `the copy kept aside was not deleted: ${refused}`, tab: null } });
        return false;
      }
      try {
        await deleteAside(key);
      } catch (err) {
        set({ message: { kind: 'error', text: `the copy kept aside was not deleted: ${errorText(err)}`, tab: null } });
        return false;
      }
      const { rescued, previous } = get();
      set({
        ...(rescued?.key === key ? { rescued: null } : {}),
        ...(previous?.key === key ? { previous: null } : {}),
        message: { kind: 'info', text: 'the copy kept aside was deleted from this browser', tab: null },
      });
      await get().refreshAside();
      return true;
    },
  });
