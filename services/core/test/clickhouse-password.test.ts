import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, clickhousePasswordOf, commonSettings, loadConfig } from '../src/index.ts';

const readFile = (path: string): string => {
  if (path === '/run/secrets/clickhouse') return 'ch-s3cret\n';
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};
const passwordOf = (env: Record<string, string>) =>
  clickhousePasswordOf(loadConfig(commonSettings, env), readFile);

test('the ClickHouse password comes from its file, its newline dropped, or from the variable, never both', () => {
  assert.equal(passwordOf({}), '');
  assert.equal(passwordOf({ SPAMGATE_CLICKHOUSE_PASSWORD: 'dev' }), 'dev');
  assert.equal(passwordOf({ SPAMGATE_CLICKHOUSE_PASSWORD_FILE: '/run/secrets/clickhouse' }), 'ch-s3cret');
  const refused: Record<string, string>[] = [
    { SPAMGATE_CLICKHOUSE_PASSWORD_FILE: '/run/secrets/clickhouse', SPAMGATE_CLICKHOUSE_PASSWORD: 'dev' },
    { SPAMGATE_CLICKHOUSE_PASSWORD_FILE: '/nowhere' },
  ];
  for (const env of refused)
    assert.throws(
      () => passwordOf(env),
      (e: unknown) =>
        e instanceof ConfigError && !e.message.includes('s3cret') && !e.message.includes('"dev"'),
    );
});
