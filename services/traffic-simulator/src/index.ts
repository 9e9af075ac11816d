export type { Expectation, Labels, ScenarioLabel, SenderLabel } from './labels.ts';
export * from './report/index.ts';
