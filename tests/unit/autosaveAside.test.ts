// The list of copies kept aside reads a small summary per copy (IndexedDB version 3's 'aside-index'),
// not the copies; a browser that kept copies under version 2 gets their summaries in the upgrade.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { deleteAside, listAside, putAside, readAside } from '../../src/app/autosave';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** A database as version 2 of the app left it: two copies aside, one of them damaged. */
async function makeVersion2(): Promise<void> {
  const open = indexedDB.open('memory-lab', 2);
  open.onupgradeneeded = () => {
    const d = open.result;
    d.createObjectStore('autosave');
    d.createObjectStore('meta');
    d.createObjectStore('slots', { keyPath: 'slot' });
    d.createObjectStore('aside', { autoIncrement: true });
  };
  const d = await request(open);
  const tx = d.transaction('aside', 'readwrite');
  const slots = [0, 1, 2].map((slot) => ({ slot, label: 1, time: 0, key: new Float32Array(4), thumb: new Uint8Array(4) }));
  tx.objectStore('aside').put({ at: '2026-01-01T00:00:00.000Z', reason: 'replaced by an imported file', stored: { kind: 'slots', meta: {}, slots } });
  tx.objectStore('aside').put({ at: 42, stored: { kind: 'slots', meta: {}, slots: 'not a list' } });
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  d.close();
}

/** Count reads of the 'aside' store's values (what the list must not do). */
function countCopyReads(): { reads: () => number; restore: () => void } {
  const proto = IDBObjectStore.prototype;
  const { get, getAll, openCursor } = proto;
  let n = 0;
  proto.get = function (this: IDBObjectStore, ...a: Parameters<typeof get>) {
    if (this.name === 'aside') n++;
    return get.apply(this, a);
  };
  proto.getAll = function (this: IDBObjectStore, ...a: Parameters<typeof getAll>) {
    if (this.name === 'aside') n++;
    return getAll.apply(this, a);
  };
  proto.openCursor = function (this: IDBObjectStore, ...a: Parameters<typeof openCursor>) {
    if (this.name === 'aside') n++;
    return openCursor.apply(this, a);
  };
  return { reads: () => n, restore: () => Object.assign(proto, { get, getAll, openCursor }) };
}

describe('copies kept aside: an index of summaries', () => {
  it('upgrading from version 2 summarises the copies already aside, damaged ones included', async () => {
    await makeVersion2();
    const list = await listAside();
    expect(list.map((c) => [c.key, c.reason, c.drawings, c.at])).toEqual([
      [2, 'unknown', null, ''],
      [1, 'replaced by an imported file', 3, '2026-01-01T00:00:00.000Z'],
    ]);
    expect((await readAside(1))?.stored.kind).toBe('slots'); // the copies themselves are untouched
  });

  it('listing reads the summaries, not the copies; a copy put aside is listed, a deleted one is gone', async () => {
    const slots = Array.from({ length: 5 }, (_, slot) => ({ slot, label: 2, time: 0, key: new Float32Array(4), thumb: new Uint8Array(4) }));
    const labels = Array.from({ length: 10 }, (_, id) => ({ id, name: `n${id}` }));
    const key = await putAside({ kind: 'slots', meta: { labels }, slots }, 'replaced by a shared memory (link)');
    const spy = countCopyReads();
    let list;
    try {
      list = await listAside();
    } finally {
      spy.restore();
    }
    expect(spy.reads()).toBe(0);
    // its first names tell it apart from the others (and one more: there are more)
    expect(list[0]).toMatchObject({ key, drawings: 5, reason: 'replaced by a shared memory (link)', names: labels.slice(0, 9).map((l) => l.name) });
    expect(list).toHaveLength(3);
    await deleteAside(key);
    expect((await listAside()).map((c) => c.key)).toEqual([2, 1]);
    await expect(deleteAside(key)).rejects.toThrow('that copy is no longer in this browser');
    expect((await listAside()).map((c) => c.key)).toEqual([2, 1]); // a refused delete changes nothing
  });

  it('a copy whose summary is missing is still listed (read and summarised then)', async () => {
    const d = await request(indexedDB.open('memory-lab'));
    const tx = d.transaction('aside-index', 'readwrite');
    tx.objectStore('aside-index').delete(1);
    await new Promise<void>((resolve) => (tx.oncomplete = () => resolve()));
    d.close();
    const list = await listAside();
    expect(list.find((c) => c.key === 1)).toMatchObject({ drawings: 3, reason: 'replaced by an imported file' });
  });
});
