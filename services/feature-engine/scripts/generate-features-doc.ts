// Writes docs/features.md from the feature catalog: npm run docs:features
import { writeFileSync } from 'node:fs';
import { featuresDocument } from '../src/features/catalog.ts';
import { DEFAULT_WINDOWS } from '../src/windows/window-spec.ts';

const path = new URL('../../../docs/features.md', import.meta.url);
writeFileSync(path, featuresDocument(DEFAULT_WINDOWS));
console.log(`wrote ${path.pathname}`);
