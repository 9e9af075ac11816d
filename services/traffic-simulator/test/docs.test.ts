import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SCENARIO_KINDS } from '../src/scenarios/index.ts';

const doc = readFileSync(new URL('../../../docs/simulator.md', import.meta.url), 'utf8');

describe('docs/simulator.md', () => {
  it('describes every scenario kind and names each of its parameters', () => {
    for (const kind of SCENARIO_KINDS.values()) {
      const start = doc.indexOf(`### \`${kind.kind}\``);
      assert.ok(start >= 0, `no section for ${kind.kind}`);
      const end = doc.indexOf('\n### ', start + 1);
      const section = doc.slice(start, end < 0 ? undefined : end);
      for (const name of Object.keys(kind.params)) {
        assert.ok(section.includes(`\`${name}\``), `the ${kind.kind} section does not name ${name}`);
      }
    }
  });
});
