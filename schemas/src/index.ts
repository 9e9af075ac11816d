export { type Codec, createCodec, type LearnedSchema, MARKER } from './codec.ts';
export { type CompatibilityProblem, checkCompatibility } from './compatibility.ts';
export {
  DECODE_ERROR_CODES,
  type DecodeErrorCode,
  LEARN_ERROR_CODES,
  type LearnErrorCode,
  SchemaDecodeError,
  SchemaEncodeError,
  SchemaLearnError,
} from './errors.ts';
export { canonicalForm, crc64Avro, fingerprintBytes } from './fingerprint.ts';
export type * from './generated/types.ts';
export { RECORD_NAMES } from './generated/types.ts';
export {
  loadCurrentSchemas,
  loadHistory,
  type RegisteredSchema,
  SCHEMAS_DIR,
  type SchemaVersion,
  schemaRegistrations,
} from './registry.ts';
export { generateTypes } from './typegen.ts';
