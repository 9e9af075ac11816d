/**
 * The sweep manifest (docs/simulator.md): scenario files that vary the spam shapes (per-number
 * pace, team size, outcome rates) around one legitimate background, each run for one duration at
 * one rate with several seeds, so that decisions are judged on traffic nobody tuned them on.
 * Checked like the scenario file: every problem at once, with its path, the value and what was
 * expected.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpamgateError } from '@spamgate/core';
import { MAX_DURATION_MS, MAX_RATE_PER_SECOND } from './traffic.ts';

/** The manifest is not valid; `problems` lists everything wrong with it. */
export class SweepFileError extends SpamgateError {
  override name = 'SweepFileError';
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], cause?: unknown) {
    super(
      `invalid sweep manifest ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
      { code: 'SWEEP_FILE_INVALID', cause },
    );
    this.source = source;
    this.problems = Object.freeze([...problems]);
  }
}

export interface SweepPoint {
  /** Unique id of the point, e.g. 'pace-30s-high-outcomes'. */
  readonly id: string;
  /** One line for people. */
  readonly title: string;
  /** The point's scenario file, resolved against the manifest's directory. */
  readonly scenariosPath: string;
}

export interface Sweep {
  /** Event time each run covers, ms. */
  readonly durationMs: number;
  /** The rate the scenarios sized by their share split (`--rate`). */
  readonly ratePerSecond: number;
  /** Every point runs once per seed. */
  readonly seeds: readonly number[];
  readonly points: readonly SweepPoint[];
}

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TOP_KEYS = ['version', 'durationMs', 'ratePerSecond', 'seeds', 'points', '$comment'];
const POINT_KEYS = ['id', 'title', 'scenarios', '$comment'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/**
 * Checks a parsed manifest read from `source`; scenario paths are resolved against its directory
 * and, when `exists` is given, checked with it. Throws one SweepFileError with every problem.
 */
export function parseSweep(doc: unknown, source: string, exists?: (path: string) => boolean): Sweep {
  if (!isObject(doc)) throw new SweepFileError(source, ['expected a JSON object at the top']);
  const problems: string[] = [];
  for (const key of Object.keys(doc)) if (!TOP_KEYS.includes(key)) problems.push(`${key}: unknown field`);
  if (doc.version !== 1) problems.push(`version: got ${show(doc.version)}, expected 1`);
  const { durationMs, ratePerSecond, seeds, points } = doc;
  if (
    typeof durationMs !== 'number' ||
    !Number.isInteger(durationMs) ||
    durationMs < 1000 ||
    durationMs > MAX_DURATION_MS
  )
    problems.push(
      `durationMs: got ${show(durationMs)}, expected an integer from 1000 to ${MAX_DURATION_MS} (ms)`,
    );
  if (
    typeof ratePerSecond !== 'number' ||
    !Number.isFinite(ratePerSecond) ||
    ratePerSecond <= 0 ||
    ratePerSecond > MAX_RATE_PER_SECOND
  )
    problems.push(
      `ratePerSecond: got ${show(ratePerSecond)}, expected messages per second above 0 and at most ${MAX_RATE_PER_SECOND}`,
    );
  if (!Array.isArray(seeds) || seeds.length === 0) {
    problems.push(`seeds: got ${show(seeds)}, expected a non-empty list of seeds`);
  } else {
    seeds.forEach((seed: unknown, i: number) => {
      if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
        problems.push(`seeds[${i}]: got ${show(seed)}, expected an integer from 0 to 4294967295`);
      else if (seeds.indexOf(seed) < i) problems.push(`seeds[${i}]: ${seed} is listed twice`);
    });
  }
  const parsed: SweepPoint[] = [];
  if (!Array.isArray(points) || points.length === 0) {
    problems.push(`points: got ${show(points)}, expected a non-empty list of points`);
  } else {
    const seen = new Set<string>();
    points.forEach((raw: unknown, i: number) => {
      const path = `points[${i}]`;
      if (!isObject(raw)) {
        problems.push(`${path}: expected an object, got ${show(raw)}`);
        return;
      }
      const at = typeof raw.id === 'string' ? `${path} (${raw.id})` : path;
      for (const key of Object.keys(raw))
        if (!POINT_KEYS.includes(key)) problems.push(`${at}.${key}: unknown field`);
      const { id, title, scenarios } = raw;
      if (typeof id !== 'string' || !ID.test(id))
        problems.push(`${at}.id: got ${show(id)}, expected lower-case letters, digits and - (at most 63)`);
      else if (seen.has(id)) problems.push(`${at}.id: "${id}" is used by an earlier point`);
      else seen.add(id);
      if (typeof title !== 'string' || title.trim() === '' || title.length > 200)
        problems.push(`${at}.title: got ${show(title)}, expected a non-empty string (at most 200)`);
      let scenariosPath: string | undefined;
      if (typeof scenarios !== 'string' || !scenarios.endsWith('.json'))
        problems.push(
          `${at}.scenarios: got ${show(scenarios)}, expected the path of a scenario file (.json)`,
        );
      else {
        scenariosPath = resolve(dirname(source), scenarios);
        if (exists && !exists(scenariosPath)) problems.push(`${at}.scenarios: no file at ${scenariosPath}`);
      }
      if (typeof id === 'string' && typeof title === 'string' && scenariosPath !== undefined)
        parsed.push(Object.freeze({ id, title, scenariosPath }));
    });
  }
  if (problems.length > 0) throw new SweepFileError(source, problems);
  return Object.freeze({
    durationMs: durationMs as number,
    ratePerSecond: ratePerSecond as number,
    seeds: Object.freeze([...(seeds as number[])]),
    points: Object.freeze(parsed),
  });
}

/** Reads and checks a sweep manifest, and that each point's scenario file is there. */
export function loadSweep(path: string): Sweep {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SweepFileError(path, [`cannot read it: ${(err as Error).message}`], err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SweepFileError(path, [`not JSON: ${(err as Error).message}`], err);
  }
  return parseSweep(doc, path, (file) => statSync(file, { throwIfNoEntry: false })?.isFile() === true);
}

/** The project's sweep (issue 17): three per-number paces by two outcome levels. */
export const SWEEP_PATH = fileURLToPath(new URL('../scenarios/sweep/sweep.json', import.meta.url));
