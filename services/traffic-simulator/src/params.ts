/**
 * Scenario parameters: each kind declares its parameters once (default, unit, bounds, one line
 * of doc), and the scenario file's values are checked against the declaration, every problem
 * named with its path, the value and what was expected.
 */

export interface ParamDef<T> {
  readonly default: T;
  /** One line for people, with the unit. */
  readonly doc: string;
  /** What a valid value looks like, for error messages and docs. */
  readonly expected: string;
  /** The value, or undefined when it is not valid. */
  parse(value: unknown): T | undefined;
}

export type ParamSpec = Readonly<Record<string, ParamDef<unknown>>>;
export type ParamsOf<S extends ParamSpec> = {
  readonly [K in keyof S]: S[K] extends ParamDef<infer T> ? T : never;
};

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

interface NumberBounds {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

function describeBounds(b: NumberBounds): string {
  return `${b.integer ? 'an integer' : 'a number'} from ${b.min} to ${b.max}`;
}

function inBounds(v: unknown, b: NumberBounds): v is number {
  return isNumber(v) && v >= b.min && v <= b.max && (!b.integer || Number.isInteger(v));
}

export const param = {
  number(def: number, doc: string, bounds: NumberBounds): ParamDef<number> {
    return {
      default: def,
      doc,
      expected: describeBounds(bounds),
      parse: (v) => (inBounds(v, bounds) ? v : undefined),
    };
  },

  /** A number within bounds, or null (e.g. a team size that null derives from the share). */
  nullableNumber(def: number | null, doc: string, bounds: NumberBounds): ParamDef<number | null> {
    return {
      default: def,
      doc,
      expected: `${describeBounds(bounds)}, or null`,
      parse: (v) => (v === null ? null : inBounds(v, bounds) ? v : undefined),
    };
  },

  /** A probability or share, 0 to 1. */
  probability(def: number, doc: string): ParamDef<number> {
    return param.number(def, doc, { min: 0, max: 1 });
  },

  /** [lo, hi] with lo <= hi, both within bounds. */
  range(
    def: readonly [number, number],
    doc: string,
    bounds: NumberBounds,
  ): ParamDef<readonly [number, number]> {
    return {
      default: def,
      doc,
      expected: `[lo, hi] with lo <= hi, each ${describeBounds(bounds)}`,
      parse: (v) =>
        Array.isArray(v) && v.length === 2 && inBounds(v[0], bounds) && inBounds(v[1], bounds) && v[0] <= v[1]
          ? ([v[0], v[1]] as const)
          : undefined,
    };
  },

  string(def: string, doc: string, pattern: RegExp, expected: string): ParamDef<string> {
    return {
      default: def,
      doc,
      expected,
      parse: (v) => (typeof v === 'string' && pattern.test(v) ? v : undefined),
    };
  },

  /** A string or null (e.g. a campaign id, null for an unregistered sender). */
  nullableString(
    def: string | null,
    doc: string,
    pattern: RegExp,
    expected: string,
  ): ParamDef<string | null> {
    return {
      default: def,
      doc,
      expected: `${expected}, or null`,
      parse: (v) => (v === null ? null : typeof v === 'string' && pattern.test(v) ? v : undefined),
    };
  },

  oneOf<const V extends string>(def: V, doc: string, values: readonly V[]): ParamDef<V> {
    return {
      default: def,
      doc,
      expected: `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
      parse: (v) => ((values as readonly unknown[]).includes(v) ? (v as V) : undefined),
    };
  },

  /** A non-empty list of strings matching `pattern`, at most `max` of them. */
  strings(
    def: readonly string[],
    doc: string,
    pattern: RegExp,
    expected: string,
    max: number,
  ): ParamDef<readonly string[]> {
    return {
      default: def,
      doc,
      expected: `a list of 1 to ${max} ${expected}`,
      parse: (v) =>
        Array.isArray(v) &&
        v.length >= 1 &&
        v.length <= max &&
        v.every((s) => typeof s === 'string' && pattern.test(s))
          ? Object.freeze([...(v as string[])])
          : undefined,
    };
  },
} as const;

/**
 * The parameters of `raw` (an object, or undefined for all defaults) under `spec`; problems are
 * pushed as sentences starting with `path`.
 */
export function parseParams<S extends ParamSpec>(
  spec: S,
  raw: unknown,
  path: string,
  problems: string[],
): ParamsOf<S> {
  const out: Record<string, unknown> = {};
  const given = raw === undefined ? {} : raw;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    problems.push(`${path}: expected an object of parameters, got ${JSON.stringify(raw)}`);
  } else {
    for (const key of Object.keys(given)) {
      if (!(key in spec)) {
        problems.push(`${path}.${key}: unknown parameter (known: ${Object.keys(spec).join(', ')})`);
      }
    }
  }
  const values = (typeof given === 'object' && given !== null ? given : {}) as Record<string, unknown>;
  for (const [key, def] of Object.entries(spec)) {
    if (!(key in values)) {
      out[key] = def.default;
      continue;
    }
    const parsed = def.parse(values[key]);
    if (parsed === undefined) {
      problems.push(`${path}.${key}: got ${JSON.stringify(values[key])}, expected ${def.expected}`);
      out[key] = def.default;
    } else out[key] = parsed;
  }
  return Object.freeze(out) as ParamsOf<S>;
}
