export type { Expectation, Labels, ScenarioLabel, SenderLabel } from './labels.ts';
