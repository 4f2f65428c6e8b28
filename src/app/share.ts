/**
 * A memory in a link (classroom sharing, no server): the export file's JSON (src/app/persist.ts,
 * with the encoder's name and every stored drawing), compressed, in the URL fragment
 *
 *   https://<the app>/#memory=2.<base64url( deflate-raw(file JSON) ++ CRC-32(file JSON) )>
 *
 * The fragment is never sent to a server. `2.` is the link format version, readable without
 * decompressing. The CRC-32 (big-endian, of the uncompressed JSON) catches a link damaged or cut
 * short in a mail or chat; the JSON is then validated as an imported file (fromLinkText).
 *
 * Version 2 leaves out the keys the receiving app makes again from their drawings (a slot written
 * once: Engine.shareable says which): a 256-number key is ~1,400 of a drawing's ~1,500 characters
 * in a link, its 28x28 drawing compresses to a few hundred. A key the update rule averaged travels
 * whole. A link that leaves no key out is written as version 1 (every key in the link), which an
 * app from before version 2 (an offline copy) still opens; both versions are read.
 * A memory whose link would pass MAX_LINK_CHARS is shared as a file instead; a link up to
 * QR_MAX_BYTES also fits a QR code. Pure: no DOM, no React.
 */
import { Inflate, deflateSync } from 'fflate';
import QRCode from 'qrcode';
import { fromLinkText, type ExpectedEncoder, type IncomingSlot, type SavedMemory } from './persist';

/** the fragment's name: #memory=... (the view names, #memory alone, have no "=") */
export const LINK_PARAM = 'memory';
/** the newest link version this app writes (1 when no key is left out) */
export const LINK_VERSION = 2;
/** the link versions this app reads (1: every key in the link) */
export const LINK_VERSIONS_READ = [1, 2];
/**
 * Longest link the app makes or reads, in characters. Browsers take far longer ones (Chromium ~2 MB),
 * but a link is pasted into mails and chats; past ~32k a file is the better way to send a memory.
 */
export const MAX_LINK_CHARS = 32_000;
/** Most bytes a QR code holds (version 40, error correction L, byte mode). */
export const QR_MAX_BYTES = 2953;
/** Largest file JSON a link may inflate to (a crafted link cannot make the page allocate more). */
export const MAX_INFLATED_BYTES = 16_000_000;
/**
 * A memory file longer than this is not even compressed to try (a 500,000-slot file is ~1 GB). A
 * slot is ~2,500 characters of file (256-number key and drawing in base64) and, even with its key
 * left out and a drawing that repeats another's, ~70 in a link: past this many characters
 * (~500 slots) no link fits MAX_LINK_CHARS.
 */
export const MAX_FILE_CHARS_FOR_LINK = 20 * MAX_LINK_CHARS * 2;
/** The error correction of the QR code: L (7%) holds the most; a code on a screen scans cleanly. */
export const QR_ERROR_CORRECTION = 'L' as const;

const DAMAGED = 'the link is damaged or was cut short (copy the whole link again, or share the memory as a file)';

// ---- base64url (RFC 4648 section 5, no padding) ----
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function bytesToBase64url(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((b.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += B64URL[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

export function base64urlToBytes(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error(`${DAMAGED}: it holds characters a Memory Lab link never has`);
  if (s.length % 4 === 1) throw new Error(DAMAGED);
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    acc = (acc << 6) | B64URL.indexOf(s[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}

// ---- CRC-32 (IEEE 802.3, as zip and PNG) ----
let crcTable: Uint32Array | null = null;
export function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The link payload (what follows `#memory=`) of a memory file's JSON text. `keysLeftOut`: the file
 * leaves some keys out (toFile of a memory with null keys: Engine.shareable), which makes it a
 * version 2 link.
 */
export function payloadOfFileText(fileText: string, keysLeftOut = false): string {
  const json = new TextEncoder().encode(fileText);
  const packed = deflateSync(json, { level: 9, mem: 8 });
  const out = new Uint8Array(packed.length + 4);
  out.set(packed);
  new DataView(out.buffer).setUint32(packed.length, crc32(json));
  return `${keysLeftOut ? LINK_VERSION : 1}.${bytesToBase64url(out)}`;
}

/**
 * The memory file's JSON text in a link payload. Throws an Error that says what is wrong (not a
 * Memory Lab link, another link version, too long, damaged or cut short); validate the text with
 * fromLinkText (keys may be left out; sharedMemoryOfPayload does both).
 */
export function fileTextOfPayload(payload: string): string {
  if (payload.length > MAX_LINK_CHARS) {
    throw new Error(`the link is too long for a Memory Lab link (${payload.length} characters, at most ${MAX_LINK_CHARS}): share the memory as a file`);
  }
  const m = /^(\d{1,6})\.(.*)$/s.exec(payload);
  if (!m) throw new Error('this is not a Memory Lab memory link (it does not start with a version number)');
  const version = Number(m[1]);
  if (!LINK_VERSIONS_READ.includes(version)) {
    throw new Error(
      version > LINK_VERSION
        ? `this link was made by a newer Memory Lab (link version ${version}; this app reads versions up to ${LINK_VERSION}): update the app, or share the memory as a file`
        : `unsupported link version ${version} (this app reads versions ${LINK_VERSIONS_READ.join(' and ')})`,
    );
  }
  const bytes = base64urlToBytes(m[2]);
  if (bytes.length < 5) throw new Error(DAMAGED);
  const want = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4);
  const json = inflateBounded(bytes.subarray(0, bytes.length - 4));
  if (crc32(json) !== want) throw new Error(`${DAMAGED}: its check sum does not match`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw new Error(`${DAMAGED}: its text is not UTF-8`);
  }
}

/** Inflate raw deflate data, refusing output over MAX_INFLATED_BYTES (fed in small pieces, so a bomb stops early). */
function inflateBounded(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const inf = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > MAX_INFLATED_BYTES) throw new Error(`the link unpacks to more than ${MAX_INFLATED_BYTES / 1e6} MB: it is not a Memory Lab link`);
    parts.push(chunk);
    if (final) ended = true;
  });
  try {
    const STEP = 1024;
    for (let i = 0; i < data.length; i += STEP) inf.push(data.subarray(i, i + STEP), i + STEP >= data.length);
    if (data.length === 0) inf.push(data, true);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('the link unpacks')) throw err;
    throw new Error(DAMAGED);
  }
  if (!ended) throw new Error(DAMAGED);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Decode and validate a link payload like an imported file (its keys may be left out: fromLinkText);
 * throws saying what is wrong.
 */
export function sharedMemoryOfPayload(payload: string, expected: ExpectedEncoder): { saved: SavedMemory<IncomingSlot>; fileText: string } {
  const fileText = fileTextOfPayload(payload);
  try {
    return { saved: fromLinkText(fileText, expected), fileText };
  } catch (err) {
    throw new Error(`the link holds no usable memory: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The payload in an address's fragment ('#memory=...'), or null when the fragment is not a memory link. */
export function payloadOfHash(hash: string): string | null {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  const prefix = `${LINK_PARAM}=`;
  // punctuation a chat or an e-mail stuck to the link's end (".", ")", "!", a quote, also
  // percent-encoded) is no part of it: a link's payload is base64url, which ends in none of them
  return h.startsWith(prefix) ? h.slice(prefix.length).replace(/(?:[.,;:!?)\]}>'"»”’]|%2[12789ce]|%3[abef]|%5d|%7d|%e2%80%9[8-9a-d]|%c2%bb)+$/i, '') : null;
}

export type ShareLink =
  /** chars: the whole link's length; qr: whether it fits a QR code (QR_MAX_BYTES) */
  | { kind: 'link'; url: string; chars: number; qr: boolean }
  /** chars: the link's length, or null when the file was too long to try (fileChars) */
  | { kind: 'too-large'; chars: number | null; fileChars: number; limit: number };

/**
 * The link that opens `fileText` (a memory file's JSON) on another device, or why there is none.
 * @param pageUrl the app's address without a fragment (location.origin + location.pathname)
 * @param keysLeftOut the file leaves some keys out (Engine.shareable)
 */
export function shareLinkOf(fileText: string, pageUrl: string, keysLeftOut = false): ShareLink {
  if (fileText.length > MAX_FILE_CHARS_FOR_LINK) return { kind: 'too-large', chars: null, fileChars: fileText.length, limit: MAX_LINK_CHARS };
  const url = `${pageUrl.replace(/#.*$/, '')}#${LINK_PARAM}=${payloadOfFileText(fileText, keysLeftOut)}`;
  if (url.length > MAX_LINK_CHARS) return { kind: 'too-large', chars: url.length, fileChars: fileText.length, limit: MAX_LINK_CHARS };
  // the URL is ASCII: one byte per character in the QR code's byte mode
  return { kind: 'link', url, chars: url.length, qr: url.length <= QR_MAX_BYTES };
}

/** The QR code of a link: size x size modules, row-major, 1 = dark. Throws when it does not fit one. */
export function qrModulesOf(text: string): { size: number; dark: Uint8Array; version: number } {
  const qr = QRCode.create(text, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  return { size: qr.modules.size, dark: Uint8Array.from(qr.modules.data), version: qr.version };
}
