export {
  type ClickHouseSinkConfig,
  clickHouseSinkSettings,
  type SinkTopics,
  sinkTopics,
  TABLE_OF_TOPIC,
  topicName,
} from './config.ts';
export { createSinkMetrics, type SinkMetrics } from './metrics.ts';
export {
  type ClickHouseSink,
  type ClickHouseSinkDeps,
  createClickHouseSink,
  missingColumns,
  SINK_SERVICE,
  SinkSchemaError,
} from './sink.ts';
