/**
 * Texts people send each other: mostly short, lower case, with slots filled per message. Kept
 * short on purpose: thousands of simulated people drawing from a few dozen sentence frames
 * would otherwise send the same long sentence from many numbers, which real friends do not
 * (and which would look like one campaign to the content clusters).
 */
import type { Random } from '../random.ts';
import type { Personaliser } from '../text.ts';

const words = (list: string): readonly string[] => list.split('|');

const REACTIONS = words(
  'lol|haha yes|ok|omw|sounds good|k|😂|yes!|no way|same|ty!|np|sure|on my way|ok see you soon|love you too|👍|' +
    'thanks!!|wait what|for real?|nice|ugh|lmao|yeah|nope|maybe later|omg|🙄|❤️|yesss|hmm idk|true|ok cool|' +
    'good night|see ya|can’t rn|call you later|perfect|lol same|wow|🙏|haha|aww|ok ok|deal',
);

const FRAMES = words(
  'are you coming {when}?|running late, be there by {time}|can you grab {food}|did {friend} call you|' +
    'what time is {thing}|{friend} says hi|how was {thing}?|i’m at {place}|want {food} {when}?|' +
    'call me when you’re free|just landed|leaving now|where are you|did you eat|miss you|' +
    'happy birthday!! 🎉|at {place}, you?|{thing} was {feeling}|pick me up at {time}?|' +
    'can’t find my {item}|is {friend} with you|bring {food}|i’m outside|don’t forget {thing}|' +
    'ok {time} works|{when}?|so {feeling} lol|text me when you get home|did you see {friend}’s post|' +
    'good luck {when}!|got {food}, want some?|almost there|parking now|send me the pic',
);

const FILLS: Readonly<Record<string, readonly string[]>> = {
  when: words('tonight|tomorrow|later|this weekend|friday|after work|saturday|at lunch'),
  time: words('7|8:30|noon|6|9|5:15|ten|half past'),
  food: words('pizza|tacos|milk|coffee|bagels|sushi|wings|ice cream|pho|donuts'),
  friend: words('sam|mike|jen|mom|dad|tasha|kev|becca|grandma|your brother|the twins'),
  thing: words('the game|practice|the party|the show|the exam|work|the concert|dinner|the trip'),
  place: words('the gym|target|work|the mall|costco|the park|home|the station|church|school'),
  feeling: words('fun|long|weird|amazing|boring|wild|cold|so good'),
  item: words('keys|charger|wallet|jacket|headphones|sunglasses'),
};

function fill(rng: Random, frame: string): string {
  return frame.replace(/\{(\w+)\}/g, (_, slot: string) => rng.pick(FILLS[slot] ?? [slot]));
}

/** The first text of a conversation. */
export function chatOpener(rng: Random, text: Personaliser): string {
  const line = fill(rng, rng.pick(FRAMES));
  const r = rng.next();
  if (r < 0.2) return `hey ${text.firstName().toLowerCase()} ${line}`;
  if (r < 0.35) return `hey! ${line}`;
  if (r < 0.38) return `look at this https://video-share.example/watch?v=${text.code(11)}`;
  return line;
}

/** A text in an ongoing conversation. */
export function chatReply(rng: Random): string {
  return rng.chance(0.45) ? rng.pick(REACTIONS) : fill(rng, rng.pick(FRAMES));
}
