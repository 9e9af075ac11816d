/** Reads a labels file the simulator wrote, checking its shape so that the report can trust it. */
import { readFileSync } from 'node:fs';
import { SpamgateError } from '@spamgate/core';
import type { Labels } from '../labels.ts';

/** A labels file that is not what the simulator writes: every problem, with its JSON path. */
export class LabelsFileError extends SpamgateError {
  override name = 'LabelsFileError';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[], cause?: unknown) {
    super(`${source} is not a simulator labels file: ${problems.join('; ')}`, {
      code: 'LABELS_INVALID',
      cause,
    });
    this.problems = problems;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks `value` is Labels (version 1); throws LabelsFileError naming every problem. */
export function parseLabels(value: unknown, source = 'labels'): Labels {
  const problems: string[] = [];
  const need = (ok: boolean, path: string, expected: string) => {
    if (!ok) problems.push(`${path} should be ${expected}`);
  };
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!isObject(value)) throw new LabelsFileError(source, ['the top level should be an object']);
  need(value.version === 1, 'version', '1');
  for (const k of ['seed', 'startedAt', 'endedAt', 'ratePerSecond']) need(finite(value[k]), k, 'a number');
  need(typeof value.topicPrefix === 'string', 'topicPrefix', 'a string');
  if (finite(value.startedAt) && finite(value.endedAt))
    need((value.endedAt as number) >= (value.startedAt as number), 'endedAt', 'at or after startedAt');
  if (!Array.isArray(value.scenarios)) problems.push('scenarios should be an array');
  else
    for (const [i, s] of (value.scenarios as unknown[]).entries()) {
      const p = `scenarios[${i}]`;
      if (!isObject(s)) {
        problems.push(`${p} should be an object`);
        continue;
      }
      need(typeof s.id === 'string' && s.id !== '', `${p}.id`, 'a non-empty string');
      // Optional: files written before scenarios carried their kind are read with the id as kind.
      need(
        s.kind === undefined || (typeof s.kind === 'string' && s.kind !== ''),
        `${p}.kind`,
        'a non-empty string',
      );
      need(typeof s.title === 'string', `${p}.title`, 'a string');
      need(typeof s.spam === 'boolean', `${p}.spam`, 'true or false');
      const x = s.expect;
      if (!isObject(x)) problems.push(`${p}.expect should be an object`);
      else {
        need(typeof x.neverBlock === 'boolean', `${p}.expect.neverBlock`, 'true or false');
        need(typeof x.throttleAcceptable === 'boolean', `${p}.expect.throttleAcceptable`, 'true or false');
        need(
          x.actionRequired === 'NONE' ||
            x.actionRequired === 'THROTTLE_OR_BLOCK' ||
            x.actionRequired === 'BLOCK',
          `${p}.expect.actionRequired`,
          'NONE, THROTTLE_OR_BLOCK or BLOCK',
        );
        need(
          x.blockWithinMs === null || (finite(x.blockWithinMs) && (x.blockWithinMs as number) >= 0),
          `${p}.expect.blockWithinMs`,
          'null or a number of ms',
        );
      }
      if (!Array.isArray(s.senders)) {
        problems.push(`${p}.senders should be an array`);
        continue;
      }
      for (const [j, l] of (s.senders as unknown[]).entries()) {
        const q = `${p}.senders[${j}]`;
        if (!isObject(l)) {
          problems.push(`${q} should be an object`);
          continue;
        }
        need(typeof l.sender === 'string', `${q}.sender`, 'a string');
        need(finite(l.firstMessageAt), `${q}.firstMessageAt`, 'a number');
        need(finite(l.messages), `${q}.messages`, 'a number');
      }
    }
  if (problems.length > 0)
    throw new LabelsFileError(
      source,
      problems.length > 20 ? [...problems.slice(0, 20), `and ${problems.length - 20} more`] : problems,
    );
  const scenarios = (value.scenarios as Record<string, unknown>[]).map((s) =>
    s.kind === undefined ? { ...s, kind: s.id } : s,
  );
  return { ...value, scenarios } as unknown as Labels;
}

/** Reads and checks a labels JSON file. */
export function readLabels(path: string): Labels {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LabelsFileError(path, [`cannot be read (${(err as Error).message})`], err);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LabelsFileError(path, [`is not JSON (${(err as Error).message})`], err);
  }
  return parseLabels(value, path);
}
