/**
 * The ClickHouse password: from SPAMGATE_CLICKHOUSE_PASSWORD_FILE (a mounted secret) or, for
 * development, SPAMGATE_CLICKHOUSE_PASSWORD; never both. Never logged (config marks it secret).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

export function clickhousePasswordOf(
  c: { readonly clickhousePassword: string; readonly clickhousePasswordFile: string | undefined },
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): string {
  const path = c.clickhousePasswordFile;
  if (path === undefined) return c.clickhousePassword;
  if (c.clickhousePassword !== '')
    throw new ConfigError([
      {
        variable: 'SPAMGATE_CLICKHOUSE_PASSWORD',
        value: undefined,
        expected: 'unset when SPAMGATE_CLICKHOUSE_PASSWORD_FILE is set (one source of the password)',
      },
    ]);
  try {
    return readFile(path).replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError([
      {
        variable: 'SPAMGATE_CLICKHOUSE_PASSWORD_FILE',
        value: path,
        expected: `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      },
    ]);
  }
}
