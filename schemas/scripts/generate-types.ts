// Writes src/generated/types.ts from the current schemas.
import { writeFileSync } from 'node:fs';
import { loadCurrentSchemas, SCHEMAS_DIR } from '../src/registry.ts';
import { generateTypes } from '../src/typegen.ts';

const path = `${SCHEMAS_DIR}src/generated/types.ts`;
writeFileSync(path, generateTypes(loadCurrentSchemas().values()));
console.log(`wrote ${path}`);
