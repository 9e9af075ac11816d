// npm run schemas:check: every current schema is backward and forward compatible with its last
// release, and src/generated/types.ts is what the schemas generate. Exit 1 otherwise.
import { readFileSync } from 'node:fs';
import { checkCompatibility } from '../src/compatibility.ts';
import { loadCurrentSchemas, loadHistory, SCHEMAS_DIR } from '../src/registry.ts';
import { generateTypes } from '../src/typegen.ts';

const current = loadCurrentSchemas();
const history = loadHistory();
let failed = false;
for (const p of checkCompatibility(current, history)) {
  failed = true;
  console.error(`${p.record}: not ${p.direction} compatible with v${p.against}: ${p.message}`);
}
for (const [record, s] of current) {
  const last = history.get(record)?.at(-1);
  const state = !last
    ? 'not released yet'
    : last.fingerprint.equals(s.fingerprint)
      ? `same as v${last.version}`
      : `changed since v${last.version}`;
  console.log(`${record.padEnd(16)} ${s.fingerprint.toString('hex')}  ${state}`);
}
const generated = readFileSync(`${SCHEMAS_DIR}src/generated/types.ts`, 'utf8');
if (generated !== generateTypes(current.values())) {
  failed = true;
  console.error('src/generated/types.ts is stale: run `npm run generate -w @spamgate/schemas`');
}
console.log(failed ? 'schemas: FAILED' : 'schemas: ok');
process.exitCode = failed ? 1 : 0;
