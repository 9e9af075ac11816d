export {
  type Codec,
  createCodec,
  type LearnedSchema,
  MARKER,
  MAX_RECORD_BYTES,
  MAX_SCHEMA_CHARS,
} from './codec.ts';
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
  allowedInWindow,
  capOf,
  loadRegistrations,
  NO_REGISTRATIONS,
  parseRegistrations,
  type Registrations,
  registrationsPath,
  type ThroughputCap,
} from './registrations.ts';
export {
  loadCurrentSchemas,
  loadHistory,
  type RegisteredSchema,
  SCHEMAS_DIR,
  type SchemaVersion,
  schemaRegistrations,
} from './registry.ts';
export {
  type ColumnSpec,
  type ColumnType,
  type Row,
  RowMappingError,
  type RowMappingErrorCode,
  type StoredRow,
  TABLE_NAMES,
  type TableName,
} from './tables/columns.ts';
export {
  CONTENT_DECISION_COLUMNS,
  contentDecisionFromRow,
  contentDecisionRow,
  DECISION_COLUMNS,
  decisionFromRow,
  decisionRow,
} from './tables/decision-rows.ts';
export {
  CLUSTER_FEATURES_COLUMNS,
  CLUSTER_WINDOW_COLUMNS,
  clusterFeaturesFromRows,
  clusterFeaturesQuery,
  clusterFeaturesRows,
  columnName,
  SENDER_FEATURES_COLUMNS,
  SENDER_MINUTE_COLUMNS,
  senderFeaturesFromRows,
  senderFeaturesQuery,
  senderFeaturesRows,
  senderMinuteFromRow,
  senderMinuteRow,
  type TimeRange,
  WINDOW_FEATURE_COLUMNS,
} from './tables/feature-rows.ts';
export {
  CONTENT_OVERRIDE_COLUMNS,
  type ContentOverrideEntry,
  type ContentOverrideTarget,
  contentOverrideFromRow,
  contentOverrideKey,
  contentOverrideRow,
  contentOverrideTarget,
  type OverridePosition,
  POLICY_OVERRIDE_COLUMNS,
  type PolicyOverrideEntry,
  policyOverrideFromRow,
  policyOverrideRow,
} from './tables/override-rows.ts';
export {
  DEAD_LETTER_COLUMNS,
  deadLetterRow,
  partitionDay,
  TABLES,
  type TableSpec,
} from './tables/tables.ts';
export { generateTypes } from './typegen.ts';
