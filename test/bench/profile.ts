/**
 * The top frames of a V8 CPU profile (`node --cpu-prof`): self time per function, summed over
 * the profile's nodes, as a share of all samples. Used by the comparison bench to say where the
 * feature engine spends its time.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_ROOT } from '@spamgate/test';

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}
interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly samples?: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface Frame {
  /** `function (file:line)`, the file relative to the repository or node_modules. */
  readonly name: string;
  readonly selfShare: number;
}

export interface ProfileSummary {
  readonly seconds: number;
  /** Share of samples in no JavaScript: idle (waiting for the network), GC, program (native). */
  readonly idleShare: number;
  readonly gcShare: number;
  readonly top: readonly Frame[];
  /** Self time by where the code lives: spamgate's services, kafkajs, avsc, node internals, other. */
  readonly byOwner: readonly Frame[];
}

function owner(url: string): string {
  if (url.includes('/node_modules/')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    return m ? m[1]! : 'node_modules';
  }
  if (url.startsWith('node:')) return 'Node.js internals';
  if (url.includes('/services/') || url.includes('/schemas/')) {
    const m = /\/(services\/[^/]+|schemas)\//.exec(url);
    return m ? m[1]! : 'spamgate';
  }
  return url === '' ? 'native / V8' : 'other';
}

function place(url: string, line: number): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const rel = path.includes('/node_modules/')
    ? path.slice(path.lastIndexOf('/node_modules/') + 14)
    : relative(REPO_ROOT, path);
  return ` (${rel}:${line + 1})`;
}

export function summariseProfile(file: string, topN = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const hits = new Map<number, number>();
  if (profile.samples) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  let total = 0;
  const byFrame = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  for (const n of profile.nodes) {
    const h = profile.samples ? (hits.get(n.id) ?? 0) : (n.hitCount ?? 0);
    if (h === 0) continue;
    total += h;
    const f = n.callFrame;
    if (f.functionName === '(idle)') {
      idle += h;
      continue;
    }
    if (f.functionName === '(garbage collector)') gc += h;
    const name = `${f.functionName || '(anonymous)'}${place(f.url, f.lineNumber)}`;
    byFrame.set(name, (byFrame.get(name) ?? 0) + h);
    const o = f.functionName.startsWith('(') ? f.functionName : owner(f.url);
    byOwner.set(o, (byOwner.get(o) ?? 0) + h);
  }
  const ranked = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, h]) => ({ name, selfShare: h / Math.max(1, total) }));
  return {
    seconds: (profile.endTime - profile.startTime) / 1e6,
    idleShare: idle / Math.max(1, total),
    gcShare: gc / Math.max(1, total),
    top: ranked(byFrame, topN),
    byOwner: ranked(byOwner, 8),
  };
}
