/**
 * Retention by dropping whole daily partitions: ClickHouse 18.16 has no TTL, and every spamgate
 * table is partitioned by a day (partition id YYYYMMDD). `applyRetention` drops each table's
 * partitions older than its retention; dropping a partition is cheap, atomic and idempotent,
 * so the command is safe to run at any time, on a schedule, from any number of places.
 */
import { type ClickHouseClient, describeConfig, type Logger, setting, sql, sqlTable } from '@spamgate/core';

const DAY_MS = 86_400_000;

/** Retention per table, as settings (SPAMGATE_RETENTION_<TABLE>), with the defaults in one place. */
export const retentionSettings = {
  message_facts: setting.duration({
    variable: 'SPAMGATE_RETENTION_MESSAGE_FACTS',
    doc: 'How long per-message facts are kept (the most sensitive data: shortest).',
    default: '30d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  sender_features: setting.duration({
    variable: 'SPAMGATE_RETENTION_SENDER_FEATURES',
    doc: 'How long feature snapshots are kept.',
    default: '90d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  cluster_features: setting.duration({
    variable: 'SPAMGATE_RETENTION_CLUSTER_FEATURES',
    doc: 'How long content-cluster feature snapshots are kept.',
    default: '90d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  sender_minute: setting.duration({
    variable: 'SPAMGATE_RETENTION_SENDER_MINUTE',
    doc: 'How long per-sender per-minute aggregates are kept.',
    default: '180d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  dead_letters: setting.duration({
    variable: 'SPAMGATE_RETENTION_DEAD_LETTERS',
    doc: 'How long the dead-letter log is kept.',
    default: '90d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  decisions: setting.duration({
    variable: 'SPAMGATE_RETENTION_DECISIONS',
    doc: 'How long decisions are kept (appeals and audits: longest).',
    default: '400d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  policy_overrides: setting.duration({
    variable: 'SPAMGATE_RETENTION_POLICY_OVERRIDES',
    doc: 'How long the override audit log is kept (appeals and audits: longest).',
    default: '400d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  content_decisions: setting.duration({
    variable: 'SPAMGATE_RETENTION_CONTENT_DECISIONS',
    doc: 'How long content decisions are kept (appeals and audits: as long as decisions).',
    default: '400d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
  content_overrides: setting.duration({
    variable: 'SPAMGATE_RETENTION_CONTENT_OVERRIDES',
    doc: 'How long the content override audit log is kept (appeals and audits: as long as decisions).',
    default: '400d',
    minMs: DAY_MS,
    maxMs: 3650 * DAY_MS,
  }),
} as const;

export type RetentionConfig = { readonly [T in keyof typeof retentionSettings]: number };

export const RETENTION_DOCS = describeConfig(retentionSettings);

export interface DroppedPartition {
  readonly table: string;
  readonly partitionId: string;
  readonly rows: number;
}

/** The first day (YYYYMMDD, UTC) that is kept when `retentionMs` is kept back from `now`. */
export function cutoffPartitionId(now: Date, retentionMs: number): string {
  const day = new Date(Math.floor((now.getTime() - retentionMs) / DAY_MS) * DAY_MS);
  return day.toISOString().slice(0, 10).replaceAll('-', '');
}

/**
 * Drops, in each table of `config`, the daily partitions older than its retention. Tables that
 * do not exist (not migrated yet) are skipped. With dryRun, reports what it would drop.
 */
export async function applyRetention(options: {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly config: RetentionConfig;
  readonly logger: Logger;
  readonly now?: Date;
  readonly dryRun?: boolean;
}): Promise<DroppedPartition[]> {
  const { client, database, logger } = options;
  const now = options.now ?? new Date();
  const dropped: DroppedPartition[] = [];
  for (const [table, retentionMs] of Object.entries(options.config)) {
    const cutoff = cutoffPartitionId(now, retentionMs);
    const rs = await client.query({
      query: sql`SELECT partition_id, sum(rows) AS rows FROM system.parts
        WHERE active AND database = ${database} AND table = ${table} AND partition_id < ${cutoff}
        GROUP BY partition_id ORDER BY partition_id`,
      format: 'JSONEachRow',
    });
    const partitions = await rs.json<{ partition_id: string; rows: string }>();
    for (const p of partitions) {
      // Daily partitions only: an id that is not YYYYMMDD is not ours to judge.
      if (!/^\d{8}$/.test(p.partition_id)) continue;
      if (!options.dryRun) {
        await client.command({
          query: `ALTER TABLE ${sqlTable(database, table).text} DROP PARTITION ID ${sql`${p.partition_id}`}`,
        });
      }
      const entry = { table, partitionId: p.partition_id, rows: Number(p.rows) };
      dropped.push(entry);
      logger.info({ ...entry, dryRun: options.dryRun ?? false, cutoff }, 'partition dropped by retention');
    }
  }
  return dropped;
}
