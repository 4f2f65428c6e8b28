// The registry of bundled encoders (models/encoders.json): validation, and the committed file itself.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encoderEntry,
  encoderModelUrl,
  loadEncoderRegistry,
  parseEncoderRegistry,
  REGISTRY_FORMAT,
  REGISTRY_VERSION,
} from '../../src/encoder/registry';

const entry = (over: Record<string, unknown> = {}) => ({
  name: 'omniglot-conv4',
  folder: 'omniglot-conv4',
  objective: 'cosface+memory',
  description: 'A Conv4 encoder trained mostly with a cosine softmax.',
  accuracy: null,
  ...over,
});
const registry = (encoders: unknown[], over: Record<string, unknown> = {}) => ({ format: REGISTRY_FORMAT, version: REGISTRY_VERSION, encoders, ...over });

describe('encoder registry', () => {
  it('the committed models/encoders.json is valid, and every entry has its model in models/', () => {
    const r = parseEncoderRegistry(JSON.parse(readFileSync('models/encoders.json', 'utf8')));
    expect(r.encoders.length).toBeGreaterThanOrEqual(1);
    for (const e of r.encoders) {
      expect(existsSync(join('models', e.folder, 'model.json')), `${e.folder}/model.json`).toBe(true);
      const m = JSON.parse(readFileSync(join('models', e.folder, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
      for (const g of m.weightsManifest) for (const p of g.paths) expect(existsSync(join('models', e.folder, p)), `${e.folder}/${p}`).toBe(true);
    }
  });

  it('every committed entry records its weights (SHA-256 of the weight files), so retrained weights cannot pass for the old ones', () => {
    const r = parseEncoderRegistry(JSON.parse(readFileSync('models/encoders.json', 'utf8')));
    for (const e of r.encoders) {
      const m = JSON.parse(readFileSync(join('models', e.folder, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
      const h = createHash('sha256');
      for (const g of m.weightsManifest) for (const p of g.paths) h.update(readFileSync(join('models', e.folder, p)));
      // a mismatch means the weights changed: put the new hash here, and keep `unrecordedWeights`
      // only if memories saved without a hash were made by the new weights (else remove it)
      expect(e.weights, `models/encoders.json ${e.name}.weights`).toBe(h.digest('hex').slice(0, 16));
    }
  });

  it('refuses a weights hash that is not 16 lowercase hex digits', () => {
    expect(() => parseEncoderRegistry(registry([entry({ weights: 'E0BE2FB87E333A21' })]))).toThrow(/encoders\.0\.weights: must be 16 lowercase hex digits/);
    expect(() => parseEncoderRegistry(registry([entry({ unrecordedWeights: 'abc' })]))).toThrow(/encoders\.0\.unrecordedWeights/);
  });

  it("the default (first) encoder is one the paper's memory loss trained alone", () => {
    // issue 8: the paper's objective carries the shipped default; its card (models/<folder>/README.md) says so
    const first = parseEncoderRegistry(JSON.parse(readFileSync('models/encoders.json', 'utf8'))).encoders[0];
    expect(first.objective).toBe('memory');
    const card = readFileSync(join('models', first.folder, 'README.md'), 'utf8');
    // the card names it the default, says the memory loss alone made it, and its training command says so
    expect(card).toMatch(/\*\*The default encoder of Memory Lab\*\*/);
    expect(card).toMatch(/from scratch by the paper's memory loss alone/);
    const commands = [...card.matchAll(/training\/train\.py[^`]*?(?=\n```)/gs)].map((m) => m[0]);
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) {
      expect(c).toMatch(/--objective=memory\b/);
      expect(c).toContain(`--out=training/runs/`);
    }
  });

  it('accepts a measured accuracy line or null, and finds entries by name', () => {
    const r = parseEncoderRegistry(registry([entry(), entry({ name: 'b', folder: 'b', objective: 'memory', accuracy: '5-way 1-shot 98.0 %' })]));
    expect(r.encoders.map((e) => e.name)).toEqual(['omniglot-conv4', 'b']);
    expect(encoderEntry(r, 'b').accuracy).toBe('5-way 1-shot 98.0 %');
    expect(() => encoderEntry(r, 'c')).toThrow(/no encoder named "c": this app ships "omniglot-conv4", "b"/);
    expect(encoderModelUrl(r.encoders[1], '/models/')).toBe('/models/b/model.json');
    expect(encoderModelUrl(r.encoders[1], '/base/models')).toBe('/base/models/b/model.json');
  });

  it.each([
    ['not an object', 'x', /the registry: /],
    ['another format', registry([entry()], { format: 'memory-lab/memory' }), /format: /],
    ['another version', registry([entry()], { version: 2 }), /version: /],
    ['no encoder', registry([]), /encoders: lists no encoder/],
    ['a missing field', registry([{ name: 'a', folder: 'a', objective: 'memory', description: 'x' }]), /encoders\.0\.accuracy/],
    ['an unknown field', registry([entry({ extra: 1 })]), /encoders\.0: .*extra/i],
    ['a folder outside models/', registry([entry({ folder: '../secrets' })]), /encoders\.0\.folder/],
    ['a folder with a slash', registry([entry({ folder: 'a/b' })]), /encoders\.0\.folder/],
    ['a two-line description', registry([entry({ description: 'one\ntwo' })]), /encoders\.0\.description: must be one line/],
    ['an empty objective', registry([entry({ objective: '' })]), /encoders\.0\.objective: must not be empty/],
    ['a number as accuracy', registry([entry({ accuracy: 98.5 })]), /encoders\.0\.accuracy/],
    ['a cut-off of 1', registry([entry({ nearCutoff: 1 })]), /encoders\.0\.nearCutoff: must be below 1/],
    ['a cut-off that is not a number', registry([entry({ nearCutoff: '0.5' })]), /encoders\.0\.nearCutoff/],
    ['test-time shifts other than 0, 4 or 8', registry([entry({ keyShifts: 2 })]), /encoders\.0\.keyShifts/],
    ['a name twice', registry([entry(), entry({ folder: 'other' })]), /encoders\.1\.name: "omniglot-conv4" appears twice/],
    ['a folder twice', registry([entry(), entry({ name: 'other' })]), /encoders\.1\.folder: "omniglot-conv4" is used by two encoders/],
  ])('refuses %s, naming the source and the field', (_what, data, message) => {
    expect(() => parseEncoderRegistry(data, 'models/encoders.json')).toThrow(/^models\/encoders\.json is not a valid encoder registry: /);
    expect(() => parseEncoderRegistry(data)).toThrow(message);
  });

  it('loadEncoderRegistry reads a URL and says why one fails', async () => {
    const ok = `data:application/json,${encodeURIComponent(JSON.stringify(registry([entry()])))}`;
    expect((await loadEncoderRegistry(ok)).encoders[0].name).toBe('omniglot-conv4');
    await expect(loadEncoderRegistry('data:application/json,{not json')).rejects.toThrow(/is not JSON/);
    await expect(loadEncoderRegistry(`data:application/json,${encodeURIComponent('{"format":"x"}')}`)).rejects.toThrow(/not a valid encoder registry: format/);
  });
});
