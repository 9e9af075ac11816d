/** Every scenario kind the scenario file can name. */
import { autoReplyLoop } from './auto-reply-loop.ts';
import { blast } from './blast.ts';
import { groupChat } from './group-chat.ts';
import { ignoresOptOuts } from './ignores-opt-outs.ts';
import type { ScenarioKind } from './kind.ts';
import { numberWalker } from './number-walker.ts';
import { ordinaryChat } from './ordinary-chat.ts';
import { p2pCampaign } from './p2p-campaign.ts';
import { reassignedNumber } from './reassigned-number.ts';
import { registeredNotifications } from './registered-notifications.ts';
import { schoolAlert } from './school-alert.ts';
import { simBox } from './sim-box.ts';
import { smallBusiness } from './small-business.ts';
import { snowshoe } from './snowshoe.ts';
import { survey } from './survey.ts';
import { templateRotator } from './template-rotator.ts';

export const SCENARIO_KINDS: ReadonlyMap<string, ScenarioKind> = new Map(
  (
    [
      ordinaryChat,
      groupChat,
      autoReplyLoop,
      registeredNotifications,
      p2pCampaign,
      schoolAlert,
      reassignedNumber,
      smallBusiness,
      survey,
      snowshoe,
      blast,
      numberWalker,
      ignoresOptOuts,
      templateRotator,
      simBox,
    ] as unknown as ScenarioKind[]
  ).map((k) => [k.kind, k]),
);

export type { GroundTruth, Scenario, ScenarioKind, ScenarioSetup } from './kind.ts';
