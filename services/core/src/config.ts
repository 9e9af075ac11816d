/**
 * Configuration from environment variables: declare settings once (variable, default, doc),
 * then `loadConfig(spec, env)` parses and validates all of them, reports every problem in one
 * ConfigError, and returns a frozen object. Only a service's main.ts passes `process.env`.
 */
import { hostname } from 'node:os';
import { ConfigError, type ConfigProblem } from './errors.ts';

/** The result of parsing one raw value: the value, or what was expected instead. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

export interface Setting<T> {
  /** Environment variable, SCREAMING_SNAKE with the SPAMGATE_ prefix. */
  readonly variable: string;
  /** One line for the operator: what it does, with units. */
  readonly doc: string;
  /** What a valid value looks like, for error messages and docs. */
  readonly expected: string;
  /** Raw default as an operator would write it; a function for computed defaults. Absent: required. */
  readonly default?: string | (() => string);
  /** How the default reads in docs when it is computed. */
  readonly defaultDoc?: string;
  /** Settings that may be left unset (value `undefined`). */
  readonly optional?: boolean;
  /** Never echo the value in errors or docs. */
  readonly secret?: boolean;
  parse(raw: string): ParseResult<T>;
}

export type ConfigSpec = Readonly<Record<string, Setting<unknown>>>;
export type ConfigOf<S extends ConfigSpec> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const bad = { ok: false } as const;

interface Common {
  readonly variable: string;
  readonly doc: string;
  readonly default?: string | (() => string);
  readonly defaultDoc?: string;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses "250ms", "30s", "5m", "24h", "7d" (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!m) return undefined;
  const value = Number(m[1]) * (DURATION_UNITS[m[2] ?? 'ms'] ?? 1);
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** Builders for the kinds of settings services need. */
export const setting = {
  string(
    o: Common & { readonly pattern?: RegExp; readonly expected?: string; readonly secret?: boolean },
  ): Setting<string> {
    return {
      ...o,
      expected: o.expected ?? (o.pattern ? `a string matching ${o.pattern}` : 'a string'),
      parse: (raw) => (o.pattern && !o.pattern.test(raw) ? bad : ok(raw)),
    };
  },

  optionalString(
    o: Omit<Common, 'default'> & { readonly pattern?: RegExp; readonly expected?: string },
  ): Setting<string | undefined> {
    return {
      ...o,
      optional: true,
      expected: o.expected ?? (o.pattern ? `a string matching ${o.pattern}` : 'a string'),
      parse: (raw) => (o.pattern && !o.pattern.test(raw) ? bad : ok(raw)),
    };
  },

  integer(o: Common & { readonly min?: number; readonly max?: number }): Setting<number> {
    const min = o.min ?? Number.MIN_SAFE_INTEGER;
    const max = o.max ?? Number.MAX_SAFE_INTEGER;
    return {
      ...o,
      expected: `an integer from ${min} to ${max}`,
      parse: (raw) => {
        if (!/^\s*-?\d+\s*$/.test(raw)) return bad;
        const n = Number(raw);
        return Number.isSafeInteger(n) && n >= min && n <= max ? ok(n) : bad;
      },
    };
  },

  /** A duration with a unit (ms, s, m, h, d); the value is in milliseconds. */
  duration(o: Common & { readonly minMs?: number; readonly maxMs?: number }): Setting<number> {
    const min = o.minMs ?? 0;
    const max = o.maxMs ?? 365 * 86_400_000;
    return {
      ...o,
      expected: `a duration such as 500ms, 30s, 5m, 24h or 7d, from ${min} ms to ${max} ms`,
      parse: (raw) => {
        const ms = parseDuration(raw);
        return ms !== undefined && ms >= min && ms <= max ? ok(ms) : bad;
      },
    };
  },

  boolean(o: Common): Setting<boolean> {
    return {
      ...o,
      expected: 'true or false',
      parse: (raw) => {
        const v = raw.trim().toLowerCase();
        if (v === 'true' || v === '1' || v === 'yes') return ok(true);
        if (v === 'false' || v === '0' || v === 'no') return ok(false);
        return bad;
      },
    };
  },

  oneOf<const V extends string>(o: Common & { readonly values: readonly V[] }): Setting<V> {
    return {
      ...o,
      expected: `one of ${o.values.join(', ')}`,
      parse: (raw) => ((o.values as readonly string[]).includes(raw) ? ok(raw as V) : bad),
    };
  },

  /** Comma-separated host:port pairs. */
  hostPorts(o: Common): Setting<readonly string[]> {
    return {
      ...o,
      expected: 'comma-separated host:port pairs, e.g. 127.0.0.1:9092,broker2:9092',
      parse: (raw) => {
        const items = raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
        const valid = items.every((s) => {
          const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
          return m !== null && Number(m[2]) > 0 && Number(m[2]) < 65536;
        });
        return items.length > 0 && valid ? ok(Object.freeze(items)) : bad;
      },
    };
  },

  url(o: Common & { readonly protocols?: readonly string[] }): Setting<string> {
    const protocols = o.protocols ?? ['http:', 'https:'];
    return {
      ...o,
      expected: `a URL (${protocols.join(' or ')})`,
      parse: (raw) => {
        try {
          const u = new URL(raw);
          return protocols.includes(u.protocol) ? ok(raw) : bad;
        } catch {
          return bad;
        }
      },
    };
  },

  port(o: Common): Setting<number> {
    return {
      ...setting.integer({ ...o, min: 0, max: 65535 }),
      expected: 'a TCP port from 0 (any free port) to 65535',
    };
  },
} as const;

/** Environment variables as Node gives them. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses every setting of `spec` from `env`. An empty string counts as unset. Throws one
 * ConfigError that names every bad or missing variable; returns a frozen config object.
 */
export function loadConfig<S extends ConfigSpec>(spec: S, env: Env): ConfigOf<S> {
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec)) {
    const given = env[s.variable];
    const raw =
      given !== undefined && given !== '' ? given : typeof s.default === 'function' ? s.default() : s.default;
    if (raw === undefined) {
      if (s.optional) out[key] = undefined;
      else problems.push({ variable: s.variable, value: undefined, expected: s.expected });
      continue;
    }
    const r = s.parse(raw);
    if (r.ok) out[key] = r.value;
    else problems.push({ variable: s.variable, value: s.secret ? '<secret>' : raw, expected: s.expected });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/** Rows for a settings table in the docs: variable, default, description. */
export function describeConfig(spec: ConfigSpec): { variable: string; default: string; doc: string }[] {
  return Object.values(spec).map((s) => ({
    variable: s.variable,
    default:
      s.defaultDoc ??
      (typeof s.default === 'string'
        ? s.secret
          ? '(empty)'
          : s.default || '(empty)'
        : s.optional
          ? '(unset)'
          : '(required)'),
    doc: s.doc,
  }));
}

/** Settings every service shares. A service spreads these into its own spec. */
export const commonSettings = {
  instanceId: setting.string({
    variable: 'SPAMGATE_INSTANCE_ID',
    doc: 'Name of this instance in logs, metrics and Kafka client ids.',
    default: () => `${hostname()}-${process.pid}`,
    defaultDoc: '<hostname>-<pid>',
    pattern: /^[A-Za-z0-9._-]{1,100}$/,
  }),
  logLevel: setting.oneOf({
    variable: 'SPAMGATE_LOG_LEVEL',
    doc: 'Minimum level written to the JSON log.',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
  }),
  kafkaBrokers: setting.hostPorts({
    variable: 'SPAMGATE_KAFKA_BROKERS',
    doc: 'Kafka bootstrap servers.',
    default: '127.0.0.1:9092',
  }),
  kafkaSecurity: setting.oneOf({
    variable: 'SPAMGATE_KAFKA_SECURITY',
    doc: 'Kafka security protocol: plaintext, ssl (TLS), sasl_plaintext or sasl_ssl.',
    values: ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'],
    default: 'plaintext',
  }),
  kafkaSaslMechanism: setting.oneOf({
    variable: 'SPAMGATE_KAFKA_SASL_MECHANISM',
    doc: 'SASL mechanism with sasl_*: scram-sha-512, scram-sha-256 or plain.',
    values: ['scram-sha-512', 'scram-sha-256', 'plain'],
    default: 'scram-sha-512',
  }),
  kafkaSaslUsername: setting.optionalString({
    variable: 'SPAMGATE_KAFKA_SASL_USERNAME',
    doc: 'SASL user (the principal the broker authorises) with sasl_*.',
  }),
  kafkaSaslPasswordFile: setting.optionalString({
    variable: 'SPAMGATE_KAFKA_SASL_PASSWORD_FILE',
    doc: "File holding the SASL user's password (a mounted secret) with sasl_*.",
  }),
  kafkaTlsCaFile: setting.optionalString({
    variable: 'SPAMGATE_KAFKA_TLS_CA_FILE',
    doc: "PEM file of the CA that signed the brokers' certificates with ssl or sasl_ssl; unset trusts the system's.",
  }),
  kafkaTlsCertFile: setting.optionalString({
    variable: 'SPAMGATE_KAFKA_TLS_CERT_FILE',
    doc: 'PEM client certificate for mutual TLS (with SPAMGATE_KAFKA_TLS_KEY_FILE).',
  }),
  kafkaTlsKeyFile: setting.optionalString({
    variable: 'SPAMGATE_KAFKA_TLS_KEY_FILE',
    doc: 'PEM private key of the client certificate for mutual TLS.',
  }),
  clickhouseUrl: setting.url({
    variable: 'SPAMGATE_CLICKHOUSE_URL',
    doc: 'ClickHouse HTTP endpoint.',
    default: 'http://127.0.0.1:8123',
  }),
  clickhouseUser: setting.string({
    variable: 'SPAMGATE_CLICKHOUSE_USER',
    doc: 'ClickHouse user.',
    default: 'default',
  }),
  clickhousePassword: setting.string({
    variable: 'SPAMGATE_CLICKHOUSE_PASSWORD',
    doc: 'ClickHouse password.',
    default: '',
    secret: true,
  }),
  clickhousePasswordFile: setting.optionalString({
    variable: 'SPAMGATE_CLICKHOUSE_PASSWORD_FILE',
    doc: 'File holding the ClickHouse password (a mounted secret), instead of SPAMGATE_CLICKHOUSE_PASSWORD.',
  }),
  clickhouseDatabase: setting.string({
    variable: 'SPAMGATE_CLICKHOUSE_DATABASE',
    doc: "Database holding spamgate's tables.",
    default: 'spamgate',
    pattern: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
  }),
  httpPort: setting.port({
    variable: 'SPAMGATE_HTTP_PORT',
    doc: 'Port of the /healthz, /readyz and /metrics endpoints (0 picks a free one).',
    default: '9464',
  }),
  httpHost: setting.string({
    variable: 'SPAMGATE_HTTP_HOST',
    doc: 'Address the ops endpoints bind; the container image sets 0.0.0.0.',
    default: '127.0.0.1',
    pattern: /^(?:[0-9.]{7,15}|[0-9a-fA-F:]{2,39}|[A-Za-z0-9.-]{1,253})$/,
  }),
  shutdownTimeoutMs: setting.duration({
    variable: 'SPAMGATE_SHUTDOWN_TIMEOUT',
    doc: 'Bound on graceful shutdown (finish the batch, commit, flush, disconnect); then exit 1.',
    default: '30s',
    minMs: 100,
    maxMs: 600_000,
  }),
  connectTimeoutMs: setting.duration({
    variable: 'SPAMGATE_CONNECT_TIMEOUT',
    doc: 'How long start-up keeps retrying Kafka and ClickHouse before giving up.',
    default: '60s',
    minMs: 100,
  }),
} as const;

/** The Kafka security settings of commonSettings alone, for tools that read only a few settings. */
export const kafkaSecuritySettings = {
  kafkaSecurity: commonSettings.kafkaSecurity,
  kafkaSaslMechanism: commonSettings.kafkaSaslMechanism,
  kafkaSaslUsername: commonSettings.kafkaSaslUsername,
  kafkaSaslPasswordFile: commonSettings.kafkaSaslPasswordFile,
  kafkaTlsCaFile: commonSettings.kafkaTlsCaFile,
  kafkaTlsCertFile: commonSettings.kafkaTlsCertFile,
  kafkaTlsKeyFile: commonSettings.kafkaTlsKeyFile,
} as const;
