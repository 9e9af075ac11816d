export { type BuildReportOptions, buildReport, reportOf } from './build.ts';
export { type CollectOptions, collect } from './collect.ts';
export {
  type ContentDecisionTiming,
  collectEnforcement,
  type Enforcement,
  type EnforcementTime,
  enforcementOf,
  type ScenarioEnforcement,
} from './enforcement.ts';
export { formatPercent } from './format.ts';
export { renderHtml } from './html.ts';
export { LabelsFileError, parseLabels, readLabels } from './labels-file.ts';
export type {
  ActionCounts,
  DeadLetterCause,
  DecisionChange,
  FirstAction,
  Metric,
  Observed,
  Offender,
  OffenderRow,
  QualityCheck,
  Report,
  ScenarioScore,
  Score,
  SenderObservation,
  SenderTimeline,
  TimelineRow,
  TimeToAction,
} from './model.ts';
export { enforcementChecks, QUALITY_BAR, type QualityBar, scoreRun } from './score.ts';
export { renderText, type TextOptions } from './text.ts';
