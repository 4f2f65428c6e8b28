/**
 * A seeded corpus of memory files for fuzzing the import path (unit and e2e): valid files and the
 * kinds of damage a crafted or broken file has (truncation, binary, deep nesting, `__proto__` keys,
 * script in labels, numbers out of range, bad labels, bad keys and drawings, wrong types, 50 MB).
 * Synthetic only: random unit keys and flat drawings. `referenceValid` is an independent,
 * plain-JS statement of what a valid file is, to check the app's validation against.
 */
import { mulberry32 } from '../src/memory/random';

export interface CorpusFile {
  kind: string;
  text: string;
}

const KEY_SIZE = 128;

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unitKey(rnd: () => number, d = KEY_SIZE): Float32Array {
  const k = new Float32Array(d);
  let n = 0;
  for (let i = 0; i < d; i++) {
    k[i] = rnd() - 0.5;
    n += k[i] * k[i];
  }
  n = Math.sqrt(n);
  for (let i = 0; i < d; i++) k[i] /= n;
  return k;
}

type Json = Record<string, unknown> & {
  settings: Record<string, unknown>;
  labels: Record<string, unknown>[];
  slots: Record<string, unknown>[];
};

/** A valid file: 8..64 slots, 1..8 filled, 1..4 labels, all used. */
export function validFile(rnd: () => number): Json {
  const size = 8 + Math.floor(rnd() * 57);
  const nLabels = 1 + Math.floor(rnd() * 4);
  const filled = nLabels + Math.floor(rnd() * (8 - nLabels + 1));
  const labels = Array.from({ length: nLabels }, (_, i) => ({ id: i * 3 + Math.floor(rnd() * 3), name: `label ${i}` }));
  const slotIds = new Set<number>();
  while (slotIds.size < filled) slotIds.add(Math.floor(rnd() * size));
  const slots = [...slotIds].map((slot, i) => ({
    slot,
    label: labels[i % nLabels].id,
    age: Math.floor(rnd() * 1000),
    key: b64(new Uint8Array(unitKey(rnd).buffer)),
    thumb: b64(new Uint8Array(784).fill(Math.floor(rnd() * 256))),
  }));
  return {
    format: 'memory-lab/memory',
    version: 1,
    savedAt: new Date(1_700_000_000_000 + Math.floor(rnd() * 1e10)).toISOString(),
    settings: { memorySize: size, k: 1 + Math.floor(rnd() * 256), t: 40, alpha: 0.1, ageNoise: 8, lookup: rnd() < 0.8 ? 'exact' : 'lsh', backend: 'auto', nearCutoff: 0.4 },
    size,
    keySize: KEY_SIZE,
    labels,
    slots,
  };
}

const pick = <T,>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

const BAD_NUMBERS = [-1, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 3, 1e20, 1e308, -0, Number.MAX_SAFE_INTEGER + 2];
const ODD_VALUES: unknown[] = [null, '', 'x', [], {}, true, 0, -1, [1, 2], { a: 1 }];
const BAD_NAMES = ['', '   ', 'alpha ', ' alpha', 'a\nb', 'tab\there', 'x'.repeat(81), '🙂'.repeat(81), '\u0000', 'x'.repeat(100_000)];
const SCRIPT_NAMES = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '"><svg onload=alert(1)>', "'); DROP TABLE labels;--", '{{constructor.constructor("alert(1)")()}}'];

function mutate(f: Json, rnd: () => number): { kind: string; value: unknown } {
  const kinds = [
    'valid', 'extra-fields', 'truncated', 'binary', 'deep-nesting', 'proto-keys', 'script-label', 'label-id', 'age',
    'slot-number', 'settings-number', 'bad-name', 'duplicate', 'unused-label', 'key', 'thumb', 'type-swap', 'missing-field',
    'emoji-label', 'key-size',
  ] as const;
  const kind = pick(rnd, kinds);
  const slot = f.slots[Math.floor(rnd() * f.slots.length)];
  const label = f.labels[Math.floor(rnd() * f.labels.length)];
  switch (kind) {
    case 'valid':
      return { kind, value: f };
    case 'extra-fields':
      f.comment = 'made by hand';
      (f.settings as Record<string, unknown>).colour = 'blue';
      slot.note = 1;
      return { kind, value: f };
    case 'truncated': {
      const t = JSON.stringify(f);
      return { kind, value: { raw: t.slice(0, Math.floor(rnd() * (t.length - 1))) } };
    }
    case 'binary': {
      const n = 1 + Math.floor(rnd() * 4000);
      let s = rnd() < 0.5 ? '{"format":"memory-lab/memory","version":1,' : '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(rnd() * 256));
      return { kind, value: { raw: s } };
    }
    case 'deep-nesting': {
      const depth = pick(rnd, [1_000, 10_000, 100_000]);
      const where = pick(rnd, ['root', 'labels', 'settings', 'slot']);
      const deep = '['.repeat(depth) + ']'.repeat(depth);
      if (where === 'root') return { kind, value: { raw: deep } };
      const t = JSON.stringify(f);
      const marker = where === 'labels' ? '"labels":' : where === 'settings' ? '"settings":' : '"slots":[';
      const i = t.indexOf(marker) + marker.length;
      const j = where === 'slot' ? t.indexOf('}', i) + 1 : where === 'labels' ? t.indexOf(']', i) + 1 : t.indexOf('}', i) + 1;
      return { kind, value: { raw: t.slice(0, i) + deep + t.slice(j) } };
    }
    case 'proto-keys': {
      const t = JSON.stringify(f);
      const inject = '"__proto__":{"polluted":true,"format":"memory-lab/memory","memorySize":3,"isAdmin":true},';
      const at = pick(rnd, ['{', '"settings":{', '"slots":[{', '"labels":[{']);
      const i = t.indexOf(at) + at.length;
      return { kind, value: { raw: t.slice(0, i) + inject + t.slice(i) } };
    }
    case 'script-label':
      label.name = pick(rnd, SCRIPT_NAMES);
      return { kind, value: f };
    case 'label-id': {
      const v = pick(rnd, BAD_NUMBERS);
      for (const s of f.slots) if (s.label === label.id) s.label = v;
      label.id = v;
      return { kind, value: f };
    }
    case 'age':
      slot.age = pick(rnd, [...BAD_NUMBERS, 2 ** 30, 2 ** 30 + 1]);
      return { kind, value: f };
    case 'slot-number':
      slot.slot = pick(rnd, [f.size as number, -1, 2 ** 32, 1.5, 1e308, (f.size as number) - 1]);
      return { kind, value: f };
    case 'settings-number': {
      const key = pick(rnd, ['memorySize', 'k', 't', 'alpha', 'ageNoise', 'nearCutoff']);
      const v = pick(rnd, [0, -1, 0.5, 4097, 500_001, 1e9, 1e308, 10_001, 1.5, 2]);
      f.settings[key] = v;
      if (key === 'memorySize' && rnd() < 0.5) f.size = v;
      return { kind, value: f };
    }
    case 'bad-name':
      label.name = pick(rnd, BAD_NAMES);
      return { kind, value: f };
    case 'duplicate':
      if (rnd() < 0.5) f.slots.push({ ...slot });
      else f.labels.push({ ...label });
      return { kind, value: f };
    case 'unused-label': {
      const many = rnd() < 0.01 ? 130_000 : 1;
      for (let i = 0; i < many; i++) f.labels.push({ id: 1_000_000 + i, name: `unused ${i}` });
      return { kind, value: f };
    }
    case 'key': {
      const how = pick(rnd, ['short', 'long', 'not-base64', 'nan', 'norm', 'padding', 'number']);
      if (how === 'short') slot.key = (slot.key as string).slice(0, 20);
      else if (how === 'long') slot.key = (slot.key as string) + 'AAAA';
      else if (how === 'not-base64') slot.key = '!!' + (slot.key as string).slice(2);
      else if (how === 'padding') slot.key = (slot.key as string) + '=';
      else if (how === 'number') slot.key = 12345;
      else {
        const k = unitKey(rnd);
        if (how === 'nan') k[5] = NaN;
        else for (let i = 0; i < k.length; i++) k[i] *= 1.5;
        slot.key = b64(new Uint8Array(k.buffer));
      }
      return { kind: `key-${how}`, value: f };
    }
    case 'thumb':
      slot.thumb = pick(rnd, [b64(new Uint8Array(783)), b64(new Uint8Array(785)), '%%%%', '', 42]);
      return { kind, value: f };
    case 'type-swap': {
      const targets: [Record<string, unknown>, string][] = [
        [f, 'format'], [f, 'version'], [f, 'size'], [f, 'keySize'], [f, 'labels'], [f, 'slots'], [f, 'settings'],
        [f.settings, 'lookup'], [f.settings, 'backend'], [slot, 'slot'], [slot, 'label'], [label, 'id'], [label, 'name'],
      ];
      const [obj, key] = pick(rnd, targets);
      obj[key] = pick(rnd, ODD_VALUES);
      return { kind, value: f };
    }
    case 'missing-field': {
      const [obj, key] = pick(rnd, [[f, 'savedAt'], [f, 'settings'], [f.settings, 'k'], [slot, 'thumb'], [label, 'name']] as [Record<string, unknown>, string][]);
      delete obj[key];
      return { kind, value: f };
    }
    case 'emoji-label':
      label.name = '🙂'.repeat(80);
      return { kind, value: f };
    case 'key-size':
      f.keySize = pick(rnd, [64, 129, 0]);
      return { kind, value: f };
  }
}

/** `count` seeded files plus the fixed large ones (50 MB, 130,000 labels). */
export function importCorpus(count: number, seed = 12, large = true): CorpusFile[] {
  const rnd = mulberry32(seed);
  const out: CorpusFile[] = [];
  for (let i = 0; i < count; i++) {
    const { kind, value } = mutate(validFile(rnd), rnd);
    const raw = (value as { raw?: string }).raw;
    out.push({ kind, text: raw !== undefined ? raw : JSON.stringify(value) });
  }
  if (large) {
    const big = validFile(rnd);
    big.savedAt = 'x'.repeat(50 * 1024 * 1024);
    out.push({ kind: '50MB-field', text: JSON.stringify(big) });
    let junk = '';
    const chunk = Array.from({ length: 1024 }, () => String.fromCharCode(32 + Math.floor(rnd() * 90))).join('');
    junk = chunk.repeat(50 * 1024);
    out.push({ kind: '50MB-junk', text: junk });
    const labels = validFile(rnd);
    for (let i = 0; i < 130_000; i++) labels.labels.push({ id: 1_000_000 + i, name: `unused ${i}` });
    out.push({ kind: '130k-labels', text: JSON.stringify(labels) });
  }
  return out;
}

// ---- the reference: what a valid file is, in plain JS ----

const isInt = (v: unknown, lo: number, hi: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const isNum = (v: unknown, lo: number, hi: number): boolean => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;

function decode(s: unknown): Uint8Array | null {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  try {
    const bin = atob(s);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function nameOk(n: unknown): boolean {
  if (typeof n !== 'string' || n.trim() === '' || n !== n.trim()) return false;
  if ([...n].length > 80) return false;
  for (const ch of n) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false;
  }
  return true;
}

/** Is `text` a valid memory file for an encoder of key size 128? */
export function referenceValid(text: string): boolean {
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return false;
  if (f.format !== 'memory-lab/memory' || f.version !== 1) return false;
  if (typeof f.savedAt !== 'string' || f.savedAt.length > 64) return false;
  const s = f.settings as Record<string, unknown>;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
  if (!isInt(s.memorySize, 1, 500_000) || !isInt(s.k, 1, 4096) || !isNum(s.t, 0.01, 10_000) || !isNum(s.alpha, 0, 10)) return false;
  if (!isNum(s.ageNoise, 0, 1_000_000) || !['exact', 'lsh'].includes(s.lookup as string)) return false;
  if (!['auto', 'webgpu', 'webgl', 'wasm'].includes(s.backend as string)) return false;
  if (s.nearCutoff !== undefined && !isNum(s.nearCutoff, 0, 1)) return false;
  if (f.size !== s.memorySize || f.keySize !== KEY_SIZE) return false;
  const size = f.size as number;
  if (!Array.isArray(f.labels) || !Array.isArray(f.slots) || f.slots.length > size) return false;
  const ids = new Set<number>(), names = new Set<string>(), used = new Set<number>(), slots = new Set<number>();
  for (const l of f.labels as Record<string, unknown>[]) {
    if (typeof l !== 'object' || l === null || !isInt(l.id, 0, 2 ** 31 - 2) || !nameOk(l.name)) return false;
    if (ids.has(l.id as number) || names.has(l.name as string)) return false;
    ids.add(l.id as number);
    names.add(l.name as string);
  }
  for (const sl of f.slots as Record<string, unknown>[]) {
    if (typeof sl !== 'object' || sl === null) return false;
    if (!isInt(sl.slot, 0, size - 1) || slots.has(sl.slot as number)) return false;
    slots.add(sl.slot as number);
    if (!isInt(sl.label, 0, 2 ** 31 - 2) || !ids.has(sl.label as number)) return false;
    used.add(sl.label as number);
    if (!isInt(sl.age, 0, 2 ** 30)) return false;
    const kb = decode(sl.key);
    if (!kb || kb.length !== KEY_SIZE * 4) return false;
    const key = new Float32Array(kb.buffer);
    let n = 0;
    for (const v of key) {
      if (!Number.isFinite(v)) return false;
      n += v * v;
    }
    if (Math.abs(Math.sqrt(n) - 1) > 1e-3) return false;
    const th = decode(sl.thumb);
    if (!th || th.length !== 784) return false;
  }
  for (const id of ids) if (!used.has(id)) return false;
  return true;
}
