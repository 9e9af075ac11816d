export { type CliOptions, parseCliArgs, USAGE, UsageError } from './cli.ts';
export { ANSWERING_SCENARIO, createLabelTracker, type LabelTracker, writeLabels } from './label-tracker.ts';
export type { Expectation, Labels, ScenarioLabel, SenderLabel } from './labels.ts';
export { createLedgerWriter, type LedgerEntry, type LedgerWriter, readLedger } from './ledger.ts';
export { AREA_CODES, NumberSpaceError } from './numbers.ts';
export * from './report/index.ts';
export { ANSWERING_LABEL } from './responses.ts';
export {
  DEFAULT_SCENARIOS_PATH,
  loadScenarioFile,
  parseScenarioFile,
  type ScenarioEntry,
  type ScenarioFile,
  ScenarioFileError,
} from './scenario-file.ts';
export { SCENARIO_KINDS, type ScenarioKind } from './scenarios/index.ts';
export type { SimEvent, SimFeedback, SimMessage } from './simulation.ts';
export { runSimulator, type SimulatorOptions, simulatorTopics } from './simulator.ts';
export { loadSweep, parseSweep, SWEEP_PATH, type Sweep, SweepFileError, type SweepPoint } from './sweep.ts';
export {
  generateTraffic,
  type PlannedScenario,
  planTraffic,
  runTag,
  SimulatorOptionsError,
  type TrafficOptions,
} from './traffic.ts';
