export { type Codec, createCodec, MARKER } from './codec.ts';
export { type CompatibilityProblem, checkCompatibility } from './compatibility.ts';
export { DECODE_ERROR_CODES, type DecodeErrorCode, SchemaDecodeError, SchemaEncodeError } from './errors.ts';
export { canonicalForm, crc64Avro, fingerprintBytes } from './fingerprint.ts';
export type * from './generated/types.ts';
export { RECORD_NAMES } from './generated/types.ts';
export { loadCurrentSchemas, loadHistory, SCHEMAS_DIR, type SchemaVersion } from './registry.ts';
export { generateTypes } from './typegen.ts';
