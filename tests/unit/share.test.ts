// The memory link (src/app/share.ts): what goes in comes out bit for bit, and every bad link
// (damaged, cut short, another version, too long, a decompression bomb, a memory of the wrong key
// size, a wrong file inside) is refused with a message that says so. The QR code is decoded back
// with an independent reader (jsQR).
import { deflateSync } from 'fflate';
import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import { toFile, type SavedMemory } from '../../src/app/persist';
import {
  base64urlToBytes,
  bytesToBase64url,
  crc32,
  fileTextOfPayload,
  MAX_FILE_CHARS_FOR_LINK,
  MAX_INFLATED_BYTES,
  MAX_LINK_CHARS,
  payloadOfFileText,
  payloadOfHash,
  QR_MAX_BYTES,
  qrModulesOf,
  sharedMemoryOfPayload,
  shareLinkOf,
} from '../../src/app/share';
import { DEFAULT_SETTINGS } from '../../src/app/types';
import { mulberry32 } from '../../src/memory/random';

const PAGE = 'https://example.org/memory-lab/';

function memory(count: number, seed = 1, keySize = 128, encoder = 'omniglot-conv4'): SavedMemory {
  const rnd = mulberry32(seed);
  return {
    encoder,
    settings: { ...DEFAULT_SETTINGS, memorySize: 64 },
    size: 64,
    keySize,
    labels: Array.from({ length: count }, (_, i) => ({ id: 3 * i + 1, name: `symbol ${i} ✓` })),
    slots: Array.from({ length: count }, (_, i) => {
      const key = new Float32Array(keySize).map(() => rnd() - 0.5);
      const n = Math.hypot(...key);
      const thumb = new Uint8Array(784);
      for (let p = 0; p < 784; p++) thumb[p] = rnd() < 0.15 ? Math.floor(rnd() * 256) : 0;
      return { slot: 2 * i, label: 3 * i + 1, age: count - i, key: key.map((x) => x / n), thumb };
    }),
  };
}
/** the file of `m`, the keys of the slots in `keyless` left out (as Engine.shareable writes it) */
const fileOf = (m: SavedMemory, keyless: ReadonlySet<number> = new Set()) =>
  JSON.stringify(toFile({ ...m, slots: m.slots.map((s) => (keyless.has(s.slot) ? { ...s, key: null } : s)) }));
const linkOf = (m: SavedMemory) => {
  const l = shareLinkOf(fileOf(m), PAGE);
  if (l.kind !== 'link') throw new Error('expected a link');
  return l;
};
const payloadOf = (url: string) => payloadOfHash(new URL(url).hash)!;
const EXPECTED = { keySize: 128, encoder: 'omniglot-conv4' };

describe('memory link: round trip', () => {
  it('base64url round-trips every length and byte value', () => {
    const rnd = mulberry32(7);
    for (let n = 0; n < 70; n++) {
      const b = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
      const s = bytesToBase64url(b);
      expect(s).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(Array.from(base64urlToBytes(s))).toEqual(Array.from(b));
    }
    expect(bytesToBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8'); // the URL-safe letters
  });

  it('CRC-32 is the standard one', () => {
    expect(crc32(new TextEncoder().encode('123456789')).toString(16)).toBe('cbf43926');
  });

  it('a memory comes back bit for bit: keys, drawings, labels, ages, settings, encoder', () => {
    const m = memory(2);
    const link = linkOf(m);
    // no key left out: version 1, which apps from before version 2 open too
    expect(link.url.startsWith(`${PAGE}#memory=1.`)).toBe(true);
    expect(link.qr).toBe(link.chars <= QR_MAX_BYTES);
    const { saved } = sharedMemoryOfPayload(payloadOf(link.url), EXPECTED);
    expect(saved.encoder).toBe('omniglot-conv4');
    expect(saved.labels).toEqual(m.labels);
    expect(saved.settings).toEqual(m.settings);
    expect(saved.slots.map((s) => [s.slot, s.label, s.age])).toEqual(m.slots.map((s) => [s.slot, s.label, s.age]));
    saved.slots.forEach((s, i) => {
      expect(Array.from(s.key!)).toEqual(Array.from(m.slots[i].key));
      expect(Array.from(s.thumb)).toEqual(Array.from(m.slots[i].thumb));
    });
  });

  it('keys the receiver makes from their drawings are left out (version 2): shorter, those slots open without a key, the others bit for bit', () => {
    const m = memory(4);
    const whole = linkOf(m);
    const keyless = new Set([m.slots[0].slot, m.slots[2].slot]);
    const l = shareLinkOf(fileOf(m, keyless), PAGE, true);
    if (l.kind !== 'link') throw new Error('expected a link');
    expect(l.url).toContain('#memory=2.');
    // two 128-number keys: ~2 x 680 characters of base64 text that hardly compresses
    expect(whole.chars - l.chars).toBeGreaterThan(2 * 600);
    const { saved } = sharedMemoryOfPayload(payloadOf(l.url), EXPECTED);
    saved.slots.forEach((s, i) => {
      if (keyless.has(s.slot)) expect(s.key).toBeNull();
      else expect(Array.from(s.key!)).toEqual(Array.from(m.slots[i].key));
      expect(Array.from(s.thumb)).toEqual(Array.from(m.slots[i].thumb));
    });
  });

  it('a version 1 link (every key in it, as before version 2) still opens', () => {
    const m = memory(2);
    const v1 = payloadOf(linkOf(m).url);
    expect(v1.startsWith('1.')).toBe(true);
    const { saved } = sharedMemoryOfPayload(v1, EXPECTED);
    expect(Array.from(saved.slots[1].key!)).toEqual(Array.from(m.slots[1].key));
  });

  it('the link is a fragment (never sent to a server) after the page address, any old fragment dropped', () => {
    const l = shareLinkOf(fileOf(memory(1)), `${PAGE}#labels`);
    if (l.kind !== 'link') throw new Error('expected a link');
    const u = new URL(l.url);
    expect(u.origin + u.pathname).toBe(PAGE);
    expect(u.search).toBe('');
    expect(payloadOfHash(u.hash)).toMatch(/^1\.[A-Za-z0-9_-]+$/);
    // punctuation a chat stuck to its end (also percent-encoded) is no part of it; the memory opens
    const payload = payloadOfHash(u.hash)!;
    for (const tail of ['.', ').', '!', '"', '”', '%2E', '%29.', '»']) expect(payloadOfHash(`${u.hash}${tail}`)).toBe(payload);
    expect(sharedMemoryOfPayload(payloadOfHash(`${u.hash}.)`)!, EXPECTED).saved.labels).toEqual(memory(1).labels);
    // a payload ending in "-" or "_" (base64url) keeps them
    expect(payloadOfHash('#memory=1.ab-_')).toBe('1.ab-_');
  });

  it('view names in the address are not memory links', () => {
    expect(payloadOfHash('#memory')).toBeNull();
    expect(payloadOfHash('#draw')).toBeNull();
    expect(payloadOfHash('')).toBeNull();
    expect(payloadOfHash('#memory=1.abc')).toBe('1.abc');
  });
});

describe('memory link: bad links are refused, saying why', () => {
  const good = payloadOf(linkOf(memory(2)).url);

  it('damaged: any one character changed is caught', () => {
    let tried = 0;
    for (let i = 2; i < good.length; i += 13) {
      const c = good[i];
      const swap = c === 'A' ? 'B' : 'A';
      const bad = good.slice(0, i) + swap + good.slice(i + 1);
      expect(() => sharedMemoryOfPayload(bad, EXPECTED), `changed at ${i}`).toThrow(/damaged|cut short/);
      tried++;
    }
    expect(tried).toBeGreaterThan(100);
    // characters a base64url link never holds (a mail client's line break, a percent-escape)
    expect(() => fileTextOfPayload(`${good.slice(0, 40)}%0A${good.slice(40)}`)).toThrow(/characters a Memory Lab link never has/);
    expect(() => fileTextOfPayload(`${good.slice(0, 40)}+/${good.slice(42)}`)).toThrow(/damaged/);
  });

  it('cut short at any length is caught', () => {
    for (let n = 0; n < good.length; n += Math.max(1, Math.floor(good.length / 97))) {
      expect(() => sharedMemoryOfPayload(good.slice(0, n), EXPECTED), `cut at ${n}`).toThrow(/cut short|not a Memory Lab memory link/);
    }
  });

  it('another link version: a newer one asks for an update, nothing else is tried', () => {
    expect(() => fileTextOfPayload(`3.${good.slice(2)}`)).toThrow(/newer Memory Lab \(link version 3; this app reads versions up to 2\)/);
    expect(() => fileTextOfPayload(`0.${good.slice(2)}`)).toThrow(/unsupported link version 0/);
    expect(() => fileTextOfPayload(good.slice(2))).toThrow(/not a Memory Lab memory link/);
    expect(() => fileTextOfPayload('')).toThrow(/not a Memory Lab memory link/);
  });

  it('too long: a link over the limit is refused before any decoding; a memory that large is offered as a file', () => {
    expect(() => fileTextOfPayload(`1.${'A'.repeat(MAX_LINK_CHARS)}`)).toThrow(/too long for a Memory Lab link/);
    const big = shareLinkOf(fileOf(memory(40)), PAGE);
    expect(big.kind).toBe('too-large');
    if (big.kind === 'too-large') {
      expect(big.chars).toBeGreaterThan(MAX_LINK_CHARS);
      expect(big.limit).toBe(MAX_LINK_CHARS);
    }
    // a file far too long for any link is not compressed to find out
    const huge = fileOf(memory(1000));
    expect(huge.length).toBeGreaterThan(MAX_FILE_CHARS_FOR_LINK);
    expect(shareLinkOf(huge, PAGE)).toEqual({ kind: 'too-large', chars: null, fileChars: huge.length, limit: MAX_LINK_CHARS });
  });

  it('a decompression bomb stops at the limit, with a message', () => {
    const zeros = new Uint8Array(MAX_INFLATED_BYTES + 1_000_000);
    const packed = deflateSync(zeros, { level: 9 });
    const bytes = new Uint8Array(packed.length + 4);
    bytes.set(packed);
    new DataView(bytes.buffer).setUint32(packed.length, crc32(zeros));
    const payload = `1.${bytesToBase64url(bytes)}`;
    expect(payload.length).toBeLessThan(MAX_LINK_CHARS);
    expect(() => fileTextOfPayload(payload)).toThrow(/unpacks to more than 16 MB/);
  });

  it('a well-formed link around a bad file is refused by the import checks', () => {
    expect(() => sharedMemoryOfPayload(payloadOfFileText('{"format":"something-else"}'), EXPECTED)).toThrow(
      /the link holds no usable memory: not a Memory Lab memory file/,
    );
    expect(() => sharedMemoryOfPayload(payloadOfFileText('not json'), EXPECTED)).toThrow(/the link holds no usable memory: the file is not JSON/);
    const f = toFile(memory(2));
    f.labels[0].name = ' padded';
    expect(() => sharedMemoryOfPayload(payloadOfFileText(JSON.stringify(f)), EXPECTED)).toThrow(/cannot start or end with spaces/);
  });

  it('the encoder: another encoder is accepted with its own key size (the app re-encodes), a wrong key size is refused', () => {
    const other = memory(2, 5, 64, 'some-other-encoder');
    const { saved } = sharedMemoryOfPayload(payloadOf(linkOf(other).url), EXPECTED);
    expect(saved.encoder).toBe('some-other-encoder');
    expect(saved.keySize).toBe(64);
    // same encoder name but keys of another size: refused
    const lying = memory(2, 5, 64, 'omniglot-conv4');
    expect(() => sharedMemoryOfPayload(payloadOf(linkOf(lying).url), EXPECTED)).toThrow(/keys of size 64, but this encoder makes keys of size 128/);
    // a reader that cannot re-encode (key size only) refuses another encoder's keys of another size
    expect(() => sharedMemoryOfPayload(payloadOf(linkOf(other).url), 128)).toThrow(/keys of size 64/);
  });
});

describe('QR code', () => {
  /** Draw the modules (4 px each, quiet zone 4) and read them back with jsQR. */
  function readQr(text: string): string | null {
    const qr = qrModulesOf(text);
    const s = 4;
    const n = (qr.size + 8) * s;
    const px = new Uint8ClampedArray(n * n * 4).fill(255);
    for (let r = 0; r < qr.size; r++) {
      for (let c = 0; c < qr.size; c++) {
        if (!qr.dark[r * qr.size + c]) continue;
        for (let y = 0; y < s; y++) {
          for (let x = 0; x < s; x++) {
            const o = (((r + 4) * s + y) * n + (c + 4) * s + x) * 4;
            px[o] = px[o + 1] = px[o + 2] = 0;
          }
        }
      }
    }
    return jsQR(px, n, n)?.data ?? null;
  }

  it('the QR code of a shared memory reads back as the same link, which opens the same memory', () => {
    const m = memory(1);
    const link = linkOf(m);
    expect(link.qr).toBe(true);
    const read = readQr(link.url);
    expect(read).toBe(link.url);
    const { saved } = sharedMemoryOfPayload(payloadOf(read!), EXPECTED);
    expect(Array.from(saved.slots[0].key!)).toEqual(Array.from(m.slots[0].key));
  });

  it('QR_MAX_BYTES is what a QR code holds: that many characters fit, one more does not', () => {
    const url = `${PAGE}#memory=1.${'x'.repeat(QR_MAX_BYTES - PAGE.length - 10)}`;
    expect(url.length).toBe(QR_MAX_BYTES);
    expect(qrModulesOf(url).version).toBe(40);
    expect(() => qrModulesOf(`${url}x`)).toThrow();
  });
});
