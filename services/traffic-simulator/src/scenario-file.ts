/**
 * The scenario file: which scenarios run, each one's share of the traffic and its parameters
 * (docs/simulator.md). Parsed and checked in one pure function that lists every problem at
 * once, with its path, the value and what was expected.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpamgateError } from '@spamgate/core';
import type { Expectation } from './labels.ts';
import { parseParams } from './params.ts';
import { ANSWERING_LABEL } from './responses.ts';
import { type GroundTruth, SCENARIO_KINDS, type ScenarioKind } from './scenarios/index.ts';

/** The scenario file is not valid; `problems` lists everything wrong with it. */
export class ScenarioFileError extends SpamgateError {
  override name = 'ScenarioFileError';
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], cause?: unknown) {
    super(
      `invalid scenario file ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
      { code: 'SCENARIO_FILE_INVALID', cause },
    );
    this.source = source;
    this.problems = Object.freeze([...problems]);
  }
}

export interface ScenarioEntry {
  /** Unique id: the scenario id in the labels. */
  readonly id: string;
  readonly kind: ScenarioKind;
  /** Its weight in the mix; shares are normalised by their sum. */
  readonly share: number;
  /** Its parameters, defaults filled in. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Ground truth and expectation: the kind's, with the file's `title` and `expect` applied. */
  readonly truth: GroundTruth;
}

export interface ScenarioFile {
  /** Where it came from, for messages. */
  readonly source: string;
  readonly scenarios: readonly ScenarioEntry[];
}

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ENTRY_KEYS = ['id', 'kind', 'share', 'title', 'params', 'expect', '$comment'];
const EXPECT_KEYS = ['neverBlock', 'throttleAcceptable', 'actionRequired', 'blockWithinMs'] as const;
const ACTIONS = ['NONE', 'THROTTLE_OR_BLOCK', 'BLOCK'] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseExpect(raw: unknown, base: Expectation, path: string, problems: string[]): Expectation {
  if (raw === undefined) return base;
  if (!isObject(raw)) {
    problems.push(
      `${path}: expected an object with any of ${EXPECT_KEYS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
    return base;
  }
  const out: { -readonly [K in keyof Expectation]: Expectation[K] } = { ...base };
  for (const key of Object.keys(raw)) {
    if (!(EXPECT_KEYS as readonly string[]).includes(key)) problems.push(`${path}.${key}: unknown field`);
  }
  for (const key of ['neverBlock', 'throttleAcceptable'] as const) {
    if (!(key in raw)) continue;
    if (typeof raw[key] === 'boolean') out[key] = raw[key];
    else problems.push(`${path}.${key}: got ${JSON.stringify(raw[key])}, expected true or false`);
  }
  if ('actionRequired' in raw) {
    const v = raw.actionRequired;
    if ((ACTIONS as readonly unknown[]).includes(v)) out.actionRequired = v as Expectation['actionRequired'];
    else
      problems.push(
        `${path}.actionRequired: got ${JSON.stringify(v)}, expected one of ${ACTIONS.join(', ')}`,
      );
  }
  if ('blockWithinMs' in raw) {
    const v = raw.blockWithinMs;
    if (v === null || (typeof v === 'number' && Number.isSafeInteger(v) && v > 0)) out.blockWithinMs = v;
    else
      problems.push(
        `${path}.blockWithinMs: got ${JSON.stringify(v)}, expected a positive integer (ms) or null`,
      );
  }
  return Object.freeze(out);
}

/** Checks a parsed scenario document; throws one ScenarioFileError with every problem. */
export function parseScenarioFile(doc: unknown, source: string): ScenarioFile {
  const problems: string[] = [];
  if (!isObject(doc)) throw new ScenarioFileError(source, ['expected a JSON object at the top']);
  for (const key of Object.keys(doc)) {
    if (!['version', 'scenarios', '$comment'].includes(key)) problems.push(`${key}: unknown field`);
  }
  if (doc.version !== 1) problems.push(`version: got ${JSON.stringify(doc.version)}, expected 1`);
  const entries: ScenarioEntry[] = [];
  if (!Array.isArray(doc.scenarios) || doc.scenarios.length === 0) {
    problems.push(`scenarios: expected a non-empty list of scenarios, got ${JSON.stringify(doc.scenarios)}`);
  } else {
    const seen = new Set<string>();
    doc.scenarios.forEach((raw: unknown, i: number) => {
      const path = `scenarios[${i}]`;
      if (!isObject(raw)) {
        problems.push(`${path}: expected an object, got ${JSON.stringify(raw)}`);
        return;
      }
      const at = typeof raw.id === 'string' ? `${path} (${raw.id})` : path;
      for (const key of Object.keys(raw)) {
        if (!ENTRY_KEYS.includes(key)) problems.push(`${at}.${key}: unknown field`);
      }
      const id = raw.id;
      if (typeof id !== 'string' || !ID.test(id)) {
        problems.push(
          `${at}.id: got ${JSON.stringify(id)}, expected lower-case letters, digits and - (at most 63)`,
        );
      } else if (id === ANSWERING_LABEL) {
        problems.push(`${at}.id: "${ANSWERING_LABEL}" is reserved for the recipients who answer`);
      } else if (seen.has(id)) problems.push(`${at}.id: "${id}" is used by an earlier scenario`);
      else seen.add(id);
      const share = raw.share;
      if (typeof share !== 'number' || !Number.isFinite(share) || share < 0) {
        problems.push(
          `${at}.share: got ${JSON.stringify(share)}, expected a number >= 0 (its weight in the mix)`,
        );
      }
      const kind = typeof raw.kind === 'string' ? SCENARIO_KINDS.get(raw.kind) : undefined;
      if (!kind) {
        problems.push(
          `${at}.kind: got ${JSON.stringify(raw.kind)}, expected one of ${[...SCENARIO_KINDS.keys()].join(', ')}`,
        );
        return;
      }
      const params = parseParams(kind.params, raw.params, `${at}.params`, problems);
      const truth = kind.truth(params);
      let title = truth.title;
      if (raw.title !== undefined) {
        if (typeof raw.title === 'string' && raw.title.trim() !== '' && raw.title.length <= 200)
          title = raw.title;
        else
          problems.push(
            `${at}.title: got ${JSON.stringify(raw.title)}, expected a non-empty string (at most 200)`,
          );
      }
      const expect = parseExpect(raw.expect, truth.expect, `${at}.expect`, problems);
      if (!truth.spam && (expect.actionRequired !== 'NONE' || !expect.neverBlock)) {
        problems.push(
          `${at}.expect: a ${kind.kind} scenario is legitimate: actionRequired must be NONE and neverBlock true`,
        );
      }
      if (truth.spam && (expect.actionRequired === 'NONE' || expect.neverBlock)) {
        problems.push(
          `${at}.expect: a ${kind.kind} scenario is spam: actionRequired cannot be NONE nor neverBlock true`,
        );
      }
      if (typeof id === 'string' && typeof share === 'number') {
        entries.push({
          id,
          kind,
          share,
          params,
          truth: Object.freeze({ title, spam: truth.spam, expect }),
        });
      }
    });
    if (problems.length === 0 && entries.reduce((s, e) => s + e.share, 0) <= 0) {
      problems.push('scenarios: the shares add up to 0; at least one scenario needs a share above 0');
    }
  }
  if (problems.length > 0) throw new ScenarioFileError(source, problems);
  return Object.freeze({ source, scenarios: Object.freeze(entries) });
}

/** Reads and checks a scenario file. */
export function loadScenarioFile(path: string): ScenarioFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioFileError(path, [`cannot read it: ${(err as Error).message}`], err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ScenarioFileError(path, [`not JSON: ${(err as Error).message}`], err);
  }
  return parseScenarioFile(doc, path);
}

/** The scenario file the simulator uses when none is named. */
export const DEFAULT_SCENARIOS_PATH = fileURLToPath(new URL('../scenarios/default.json', import.meta.url));
