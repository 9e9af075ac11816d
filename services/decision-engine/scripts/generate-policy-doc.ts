// npm run docs:policy: rewrites the default policy's tables in docs/policy.md from infra/config/policy.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { policyPath } from '../src/config.ts';
import { policyTables, withPolicyTables } from '../src/policy-doc.ts';

const doc = fileURLToPath(new URL('../../../docs/policy.md', import.meta.url));
writeFileSync(doc, withPolicyTables(readFileSync(doc, 'utf8'), policyTables(policyPath({ policyFile: '' }))));
console.log(`wrote ${doc}`);
