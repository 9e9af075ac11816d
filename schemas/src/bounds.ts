/**
 * Bounds for Avro bodies from outside: every length and block count is checked against the bytes
 * left before avsc reads it. avsc trusts a block count (a 17-byte record claiming 30 million array
 * items allocates them; a skipped array of 2^60 items loops for days), so the codec walks the
 * writer schema over the bytes first, in O(bytes). See ARCHITECTURE.md, "The event contract".
 */
import avro from 'avsc';

/** A body whose lengths or counts do not fit its bytes, or a schema that makes that unknowable. */
export class BoundsViolation extends Error {
  override name = 'BoundsViolation';
  /** TRUNCATED: the bytes end inside a value; BAD_LENGTH: a length or count that cannot fit them. */
  readonly code: 'TRUNCATED' | 'BAD_LENGTH' | 'BODY_INVALID';

  constructor(message: string, code: BoundsViolation['code'] = 'BAD_LENGTH') {
    super(message);
    this.code = code;
  }
}

/** Where a walk stands in the bytes; one per check, so walks share no state. */
interface Cursor {
  pos: number;
}

type Walk = (buf: Buffer, at: Cursor) => void;

/** Checks one body from `start`; returns where it ends. Throws BoundsViolation. */
export type BodyCheck = (buf: Buffer, start: number) => number;

function need(buf: Buffer, at: Cursor, bytes: number): void {
  if (bytes > buf.length - at.pos) throw new BoundsViolation('the body ends early', 'TRUNCATED');
  at.pos += bytes;
}

/** A zig-zag varint of at most 10 bytes, as a double (exact to 2^53, enough to compare sizes). */
function readLong(buf: Buffer, at: Cursor): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= buf.length) throw new BoundsViolation('the body ends early', 'TRUNCATED');
    const b = buf[at.pos++] as number;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
    scale *= 128;
  }
  throw new BoundsViolation('a varint longer than 10 bytes', 'BODY_INVALID');
}

function readIndex(buf: Buffer, at: Cursor, size: number, what: string): number {
  const i = readLong(buf, at);
  if (i < 0 || i >= size)
    throw new BoundsViolation(`${what} index ${i} out of range 0..${size - 1}`, 'BODY_INVALID');
  return i;
}

/**
 * Reads a block header of an array or map: its item count (0 ends the sequence). Each item takes
 * at least one byte (`unsafeArrays` refuses schemas where it could take none), so a count above
 * the bytes left is a lie, refused before anything is read or allocated for it.
 */
function readBlockCount(buf: Buffer, at: Cursor): number {
  let n = readLong(buf, at);
  if (n < 0) {
    n = -n;
    const size = readLong(buf, at);
    if (size < 0 || size > buf.length - at.pos) throw new BoundsViolation(`a block of ${size} bytes`);
  }
  if (n > buf.length - at.pos) {
    throw new BoundsViolation(`a block of ${n} items in ${buf.length - at.pos} bytes`);
  }
  return n;
}

function underlying(type: avro.Type): avro.Type {
  return type instanceof avro.types.LogicalType ? type.underlyingType : type;
}

/** True when any part of the type is an array or a map: only those can claim more than their bytes. */
function hasBlocks(type: avro.Type, seen = new Set<avro.Type>()): boolean {
  const t = underlying(type);
  if (seen.has(t)) return false;
  seen.add(t);
  if (t instanceof avro.types.ArrayType || t instanceof avro.types.MapType) return true;
  if (t instanceof avro.types.RecordType) return t.fields.some((f) => hasBlocks(f.type, seen));
  if (t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType) {
    return t.types.some((b) => hasBlocks(b, seen));
  }
  return false;
}

/** The fewest bytes a value of the type can take (a union's branch index is at least one). */
function minBytes(type: avro.Type, open: Set<avro.Type>): number {
  const t = underlying(type);
  if (open.has(t)) return 1; // a type that contains itself: unsafeParts reports it
  switch (t.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return (t as avro.types.FixedType).size;
  }
  if (t instanceof avro.types.RecordType) {
    open.add(t);
    const sum = t.fields.reduce((s, f) => s + minBytes(f.type, open), 0);
    open.delete(t);
    return sum;
  }
  if (t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType) {
    for (const b of t.types) minBytes(b, open); // a recursion through a branch is refused too
  } else if (t instanceof avro.types.ArrayType) {
    minBytes(t.itemsType, open);
  } else if (t instanceof avro.types.MapType) {
    minBytes(t.valuesType as avro.Type, open);
  }
  return 1; // boolean, int, long, bytes, string, enum, array, map, union
}

/**
 * What makes a schema's bodies unboundable, one line each: a type that contains itself (a body
 * could nest as deep as it has bytes, and a walk would need a stack that deep) or an array whose
 * items can take no bytes (a few bytes could claim any number of them). Empty when it is safe.
 */
export function unsafeParts(type: avro.Type): string[] {
  const problems: string[] = [];
  const visit = (t0: avro.Type, path: string, open: Set<avro.Type>): void => {
    const t = underlying(t0);
    if (open.has(t)) {
      problems.push(`${path}: ${t.name ?? t.typeName} contains itself`);
      return;
    }
    open.add(t);
    if (t instanceof avro.types.RecordType) {
      for (const f of t.fields) visit(f.type, `${path}.${f.name}`, open);
    } else if (t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType) {
      t.types.forEach((b, i) => {
        visit(b, `${path}[${i}]`, open);
      });
    } else if (t instanceof avro.types.ArrayType) {
      if (minBytes(t.itemsType, new Set()) === 0)
        problems.push(`${path}: an array of items that take no bytes`);
      visit(t.itemsType, `${path}[]`, open);
    } else if (t instanceof avro.types.MapType) {
      visit(t.valuesType as avro.Type, `${path}{}`, open);
    }
    open.delete(t);
  };
  visit(type, type.name ?? type.typeName, new Set());
  return problems;
}

function compile(type: avro.Type): Walk {
  const t = underlying(type);
  switch (t.typeName) {
    case 'null':
      return () => {};
    case 'boolean':
      return (buf, at) => need(buf, at, 1);
    case 'int':
    case 'long':
      return (buf, at) => {
        readLong(buf, at);
      };
    case 'float':
      return (buf, at) => need(buf, at, 4);
    case 'double':
      return (buf, at) => need(buf, at, 8);
    case 'bytes':
    case 'string':
      return (buf, at) => {
        const len = readLong(buf, at);
        if (len < 0) throw new BoundsViolation(`a length of ${len}`, 'BODY_INVALID');
        need(buf, at, len);
      };
    case 'fixed': {
      const size = (t as avro.types.FixedType).size;
      return (buf, at) => need(buf, at, size);
    }
    case 'enum': {
      const size = (t as avro.types.EnumType).symbols.length;
      return (buf, at) => {
        readIndex(buf, at, size, 'enum');
      };
    }
  }
  if (t instanceof avro.types.RecordType) {
    const fields = t.fields.map((f) => compile(f.type));
    return (buf, at) => {
      for (const walk of fields) walk(buf, at);
    };
  }
  if (t instanceof avro.types.UnwrappedUnionType || t instanceof avro.types.WrappedUnionType) {
    const branches = t.types.map(compile);
    return (buf, at) => {
      (branches[readIndex(buf, at, branches.length, 'union branch')] as Walk)(buf, at);
    };
  }
  if (t instanceof avro.types.ArrayType || t instanceof avro.types.MapType) {
    const item = t instanceof avro.types.ArrayType ? compile(t.itemsType) : compileEntry(t);
    return (buf, at) => {
      for (let n = readBlockCount(buf, at); n !== 0; n = readBlockCount(buf, at)) {
        for (let i = 0; i < n; i++) item(buf, at);
      }
    };
  }
  throw new BoundsViolation(`no bounds for Avro type ${t.typeName}`);
}

function compileEntry(map: avro.types.MapType): Walk {
  const key = compile(avro.Type.forSchema('string'));
  const value = compile(map.valuesType as avro.Type);
  return (buf, at) => {
    key(buf, at);
    value(buf, at);
  };
}

/**
 * The bounds check for bodies written with `writer`, or undefined when none is needed (no array
 * or map anywhere: avsc then reads no more than the bytes hold). Throws BoundsViolation for an
 * unsafe schema; call `unsafeParts` first to say why.
 */
export function bodyCheck(writer: avro.Type): BodyCheck | undefined {
  if (!hasBlocks(writer)) return undefined;
  const problems = unsafeParts(writer);
  if (problems.length > 0) throw new BoundsViolation(problems.join('; '));
  const walk = compile(writer);
  return (buf, start) => {
    const at = { pos: start };
    walk(buf, at);
    return at.pos;
  };
}
