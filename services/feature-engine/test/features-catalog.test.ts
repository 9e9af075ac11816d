import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCurrentSchemas } from '@spamgate/schemas';
import { FEATURES, featuresDocument } from '../src/features/catalog.ts';
import { createSenderState, featuresAt } from '../src/windows/sender-state.ts';
import { DEFAULT_WINDOWS } from '../src/windows/window-spec.ts';

const catalogNames = FEATURES.map((f) => f.name).sort();

test('the catalog defines exactly the features the engine computes', () => {
  const [computed] = featuresAt(createSenderState(DEFAULT_WINDOWS), 0);
  const names = Object.keys(computed!)
    .filter((k) => k !== 'window' && k !== 'windowMs')
    .sort();
  assert.deepEqual(names, catalogNames);
});

test('the SenderFeatures schema carries every catalog feature, each with a default', () => {
  const schema = loadCurrentSchemas().get('SenderFeatures')!.schema as {
    fields: { name: string; type: { items?: { fields: { name: string; default?: unknown }[] } } }[];
  };
  const windowFields = schema.fields.find((f) => f.name === 'windows')!.type.items!.fields;
  assert.deepEqual(
    windowFields
      .map((f) => f.name)
      .filter((n) => n !== 'window' && n !== 'windowMs')
      .sort(),
    catalogNames,
  );
  for (const f of windowFields)
    if (f.name !== 'windowMs') assert.notEqual(f.default, undefined, `${f.name} has a default`);
});

test('docs/features.md is generated from the catalog (npm run docs:features)', () => {
  const doc = readFileSync(new URL('../../../docs/features.md', import.meta.url), 'utf8');
  assert.equal(doc, featuresDocument(DEFAULT_WINDOWS));
});
