/**
 * Compare mode is saved like the memory: autosaved to IndexedDB after each change, validated on
 * load (compareSession.ts `fromFile`). Its own database, so it never touches the memory's record.
 */
import { openDB, type IDBPDatabase } from 'idb';
import type { CompareFile } from './compareSession';

const DB_NAME = 'memory-lab-compare';
const STORE = 'compare';
const KEY = 'current';
let dbPromise: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> {
  dbPromise ??= openDB(DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore(STORE);
    },
  });
  return dbPromise;
}

export async function saveCompare(f: CompareFile): Promise<void> {
  await (await db()).put(STORE, f, KEY);
}

export async function loadCompare(): Promise<unknown | undefined> {
  return (await db()).get(STORE, KEY);
}
