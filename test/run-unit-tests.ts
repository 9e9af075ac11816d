// npm run test:unit: every package's pure tests (services/*/test, schemas/test), no servers, no
// browser. Node's runner would start one process per test file, and loading the packages' TypeScript
// a hundred times cost more than the tests; here the files run in one process per core
// (--test-isolation=none), each process a shard of them. A shard's output is printed when it ends.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FILES = ['services/*/test/*.test.ts', 'schemas/test/**/*.test.ts'];
const shards = Math.max(1, Math.min(availableParallelism(), 4));

function runShard(index: number): Promise<{ index: number; code: number; output: string }> {
  const args = [
    '--disable-warning=TimeoutNegativeWarning',
    '--test',
    '--test-isolation=none',
    `--test-shard=${index}/${shards}`,
    ...FILES,
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ index, code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks).toString('utf8') }),
    ),
  );
}

const started = Date.now();
const results = await Promise.all(
  Array.from({ length: shards }, (_, i) =>
    runShard(i + 1).then((r) => {
      process.stdout.write(`\n# shard ${r.index}/${shards} (exit ${r.code})\n${r.output}`);
      return r;
    }),
  ),
);
const failed = results.filter((r) => r.code !== 0);
console.log(
  `\n# ${shards} shards in ${Math.round((Date.now() - started) / 1000)} s: ${failed.length === 0 ? 'all passed' : `shard ${failed.map((r) => r.index).join(', ')} failed`}`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
