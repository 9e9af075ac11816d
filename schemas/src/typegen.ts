/**
 * Generates TypeScript types from the current .avsc files, so code and schema cannot drift:
 * `npm run generate -w @spamgate/schemas` writes src/generated/types.ts and a test fails when
 * the file is not what the schemas produce.
 */
import type { SchemaVersion } from './registry.ts';

type Schema = string | readonly Schema[] | { readonly [k: string]: unknown };

const PRIMITIVES: Readonly<Record<string, string>> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

function shortName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function doc(text: unknown, indent: string): string {
  return typeof text === 'string' ? `${indent}/** ${text.replace(/\*\//g, '* /')} */\n` : '';
}

export function generateTypes(schemas: Iterable<SchemaVersion>): string {
  const declarations = new Map<string, string>();

  function typeOf(s: Schema): string {
    if (typeof s === 'string') return PRIMITIVES[s] ?? shortName(s);
    if (Array.isArray(s)) return (s as readonly Schema[]).map(typeOf).join(' | ');
    const o = s as { readonly [k: string]: unknown };
    switch (o.type) {
      case 'record':
        return declareRecord(o);
      case 'enum': {
        const name = shortName(String(o.name));
        if (!declarations.has(name)) {
          const symbols = (o.symbols as string[]).map((x) => `'${x}'`).join(' | ');
          declarations.set(name, `${doc(o.doc, '')}export type ${name} = ${symbols};\n`);
        }
        return name;
      }
      case 'array':
        return `${wrap(typeOf(o.items as Schema))}[]`;
      case 'map':
        return `Record<string, ${typeOf(o.values as Schema)}>`;
      case 'fixed': {
        // Named, so later fields may refer to it by name: an alias of Buffer.
        const name = shortName(String(o.name));
        if (!declarations.has(name))
          declarations.set(name, `${doc(o.doc, '')}export type ${name} = Buffer;\n`);
        return name;
      }
      default:
        return typeOf(o.type as Schema);
    }
  }

  function wrap(t: string): string {
    return t.includes('|') ? `(${t})` : t;
  }

  function declareRecord(o: { readonly [k: string]: unknown }): string {
    const name = shortName(String(o.name));
    if (declarations.has(name)) return name;
    declarations.set(name, ''); // reserve: recursive references
    const fields = (o.fields as { name: string; type: Schema; doc?: string }[])
      .map((f) => `${doc(f.doc, '  ')}  ${f.name}: ${typeOf(f.type)};\n`)
      .join('');
    declarations.set(name, `${doc(o.doc, '')}export interface ${name} {\n${fields}}\n`);
    return name;
  }

  const records: string[] = [];
  for (const s of schemas) records.push(declareRecord(s.schema));
  const map = records.map((r) => `  ${r}: ${r};\n`).join('');
  return (
    '// Generated from schemas/avro/*.avsc by schemas/scripts/generate-types.ts. Do not edit.\n\n' +
    [...declarations.values()].join('\n') +
    `\n/** Every top-level record, by name. */\nexport interface Records {\n${map}}\n\n` +
    `export type RecordName = keyof Records;\n\n` +
    `export const RECORD_NAMES: readonly RecordName[] = [${records.map((r) => `'${r}'`).join(', ')}];\n`
  );
}
