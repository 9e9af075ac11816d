import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRegistrations } from '@spamgate/schemas';
import {
  DEFAULT_SCENARIOS_PATH,
  loadScenarioFile,
  parseScenarioFile,
  ScenarioFileError,
} from '../src/scenario-file.ts';
import { SCENARIO_KINDS } from '../src/scenarios/index.ts';
import { loadSweep, SWEEP_PATH } from '../src/sweep.ts';
import { DEMO_REGISTRATIONS } from './fixtures.ts';

function problemsOf(doc: unknown): readonly string[] {
  try {
    parseScenarioFile(doc, 'test.json');
  } catch (err) {
    assert.ok(err instanceof ScenarioFileError);
    assert.equal(err.code, 'SCENARIO_FILE_INVALID');
    assert.equal(err.source, 'test.json');
    return err.problems;
  }
  assert.fail('the file was accepted');
}

describe('scenario file', () => {
  it('the default file is valid, covers the eleven kinds of the demo, and its registered campaigns are in the demo registrations', () => {
    const file = loadScenarioFile(DEFAULT_SCENARIOS_PATH);
    assert.equal(file.scenarios.length, 12);
    assert.equal(new Set(file.scenarios.map((s) => s.kind.kind)).size, 11);
    // The kinds the sweep brought (template rotator, SIM box, small business, survey) are in its points.
    const covered = new Set(
      [file, ...loadSweep(SWEEP_PATH).points.map((p) => loadScenarioFile(p.scenariosPath))].flatMap((f) =>
        f.scenarios.map((s) => s.kind.kind),
      ),
    );
    assert.deepEqual(
      [...SCENARIO_KINDS.keys()].filter((k) => !covered.has(k)),
      [],
    );
    const registrations = loadRegistrations(DEMO_REGISTRATIONS);
    for (const s of file.scenarios) {
      const campaign = s.params.campaignId;
      if (typeof campaign === 'string')
        assert.ok(registrations.campaigns.has(campaign), `${s.id}: ${campaign}`);
    }
    const byId = new Map(file.scenarios.map((s) => [s.id, s.truth]));
    assert.deepEqual(byId.get('p2p-unregistered')?.expect, {
      neverBlock: true,
      throttleAcceptable: true,
      actionRequired: 'NONE',
      blockWithinMs: null,
    });
    assert.equal(byId.get('snowshoe')?.expect.blockWithinMs, 60_000);
    assert.equal(byId.get('ignores-opt-outs')?.expect.actionRequired, 'BLOCK');
  });

  it('lists every problem of a bad file, each with its path, the value and what was expected', () => {
    const problems = problemsOf({
      version: 2,
      extra: true,
      scenarios: [
        { id: 'chat', kind: 'ordinary-chat', share: 0.5, params: { contacts: 3.5, typo: 1 } },
        { id: 'chat', kind: 'ordinary-chat', share: -1 },
        { id: 'Bad Id', kind: 'no-such-kind', share: 1 },
        { id: 'answering-recipients', kind: 'blast', share: 1, params: { deliveryFailureRate: 2 } },
        {
          id: 'p2p',
          kind: 'p2p-campaign',
          share: 1,
          params: { script: 'other' },
          expect: { actionRequired: 'BLOCK' },
        },
        'nonsense',
      ],
    });
    const expected = [
      /^version: got 2, expected 1$/,
      /^extra: unknown field$/,
      /^scenarios\[0\] \(chat\)\.params\.typo: unknown parameter/,
      /^scenarios\[0\] \(chat\)\.params\.contacts: got 3\.5, expected an integer from 2 to 64$/,
      /^scenarios\[1\] \(chat\)\.id: "chat" is used by an earlier scenario$/,
      /^scenarios\[1\] \(chat\)\.share: got -1, expected a number >= 0/,
      /^scenarios\[2\] \(Bad Id\)\.id: got "Bad Id", expected lower-case letters/,
      /^scenarios\[2\] \(Bad Id\)\.kind: got "no-such-kind", expected one of ordinary-chat, /,
      /^scenarios\[3\] \(answering-recipients\)\.id: "answering-recipients" is reserved/,
      /^scenarios\[3\] \(answering-recipients\)\.params\.deliveryFailureRate: got 2, expected a number from 0 to 1$/,
      /^scenarios\[4\] \(p2p\)\.params\.script: got "other", expected one of "senate-gotv", "ballot-measure", "school-budget"$/,
      /^scenarios\[4\] \(p2p\)\.expect: a p2p-campaign scenario is legitimate/,
      /^scenarios\[5\]: expected an object, got "nonsense"$/,
    ];
    for (const re of expected)
      assert.ok(
        problems.some((p) => re.test(p)),
        `no problem matches ${re}:\n${problems.join('\n')}`,
      );
    assert.equal(problems.length, expected.length, problems.join('\n'));
  });

  it('refuses a file that is not an object, has no scenarios, or whose shares add up to 0', () => {
    assert.deepEqual(problemsOf([]), ['expected a JSON object at the top']);
    assert.match(problemsOf({ version: 1, scenarios: [] })[0]!, /^scenarios: expected a non-empty list/);
    assert.deepEqual(problemsOf({ version: 1, scenarios: [{ id: 'a', kind: 'blast', share: 0 }] }), [
      'scenarios: the shares add up to 0; at least one scenario needs a share above 0',
    ]);
  });

  it('applies a title and expectation from the file, and checks each field of the expectation', () => {
    const file = parseScenarioFile(
      {
        version: 1,
        scenarios: [
          {
            id: 'b',
            kind: 'blast',
            share: 1,
            title: 'Blast',
            expect: { actionRequired: 'BLOCK', blockWithinMs: 30000 },
          },
        ],
      },
      'x',
    );
    assert.equal(file.scenarios[0]!.truth.title, 'Blast');
    assert.deepEqual(file.scenarios[0]!.truth.expect, {
      neverBlock: false,
      throttleAcceptable: false,
      actionRequired: 'BLOCK',
      blockWithinMs: 30_000,
    });
    const problems = problemsOf({
      version: 1,
      scenarios: [{ id: 'b', kind: 'blast', share: 1, expect: { neverBlock: 'yes', blockWithinMs: -5 } }],
    });
    assert.deepEqual(problems, [
      'scenarios[0] (b).expect.neverBlock: got "yes", expected true or false',
      'scenarios[0] (b).expect.blockWithinMs: got -5, expected a positive integer (ms) or null',
    ]);
  });

  it('reports a missing file and a file that is not JSON as a ScenarioFileError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-scenarios-'));
    assert.throws(
      () => loadScenarioFile(join(dir, 'missing.json')),
      (err: unknown) => {
        assert.ok(err instanceof ScenarioFileError);
        assert.match(err.problems[0]!, /^cannot read it: ENOENT/);
        return true;
      },
    );
    writeFileSync(join(dir, 'bad.json'), '{ "version": 1, ');
    assert.throws(
      () => loadScenarioFile(join(dir, 'bad.json')),
      (err: unknown) => {
        assert.ok(err instanceof ScenarioFileError);
        assert.match(err.problems[0]!, /^not JSON: /);
        assert.match(err.message, /^invalid scenario file .*bad\.json \(1 problem\):\n {2}- not JSON/);
        return true;
      },
    );
  });
});
