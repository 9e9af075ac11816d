/**
 * A deterministic SMS corpus for the content tests: 30 templates, each sent to many recipients with
 * per-recipient personalisation (names, volunteers' names, amounts, dates, times, codes, tracking
 * numbers, addresses, per-recipient links, phishing links rotating over three domains), and 500
 * distinct personal messages of one to three sentences from 50 frames with slots. The same seed
 * always gives the same corpus: measured rates quoted in the code depend on it.
 */

/** Seeded PRNG (mulberry32), uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Corpus {
  /** Per template, its personalised copies. */
  readonly templates: readonly (readonly string[])[];
  readonly personal: readonly string[];
}

const words = (list: string): readonly string[] => list.split('|');
const FIRST_NAMES = words(
  'Ann|Bob|Maria|Jose|Christopher|Alexandra|Li|Mohammed|Priya|Kim|Jennifer|Michael|Sarah|David|Emily|James|' +
    'Olivia|Daniel|Sophia|Matthew|Isabella|Anthony|Mia|Joshua|Charlotte|Andrew|Amelia|Ryan|Harper|Brandon|' +
    'Evelyn|Tyler|Abigail|Kevin|Ella|Justin|Avery|Nathan|Scarlett|Samuel|Grace|Benjamin|Chloe|Jonathan|' +
    'Victoria|Zoe|Luis|Ana|Carlos|Fatima|Aisha|Wei|Hiroshi|Yuki|Dmitri|Olga|Kwame|Ngozi|Siobhan|Padraig',
);
const LAST_NAMES = words(
  'Smith|Johnson|Nguyen|Garcia|Patel|Okafor|Kowalski|Rossi|Schmidt|Lee|Brown|Martinez|Davis|Wilson|' +
    'Anderson|Thomas|Moore|Jackson|White|Harris',
);
const STREETS = words(
  'Main St|Oak Ave|Maple Dr|Elm St|Cedar Ln|Park Blvd|Washington Ave|Lake Rd|Hill St|Pine Ct|Sunset Blvd|' +
    'Broadway|Church St|Mill Rd|River Rd',
);
const SCHOOLS = words(
  'Lincoln|Roosevelt|Jefferson|Franklin|Madison|Kennedy|Washington|Adams|Hamilton|Monroe',
);
const MONTHS = words('January|February|March|April|May|June|July|August|September|October|November|December');
const DAYS = words('Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday');
const CITIES = words('Lagos|Moscow|Houston|Miami|Denver|Toronto|Manila|Phoenix|Atlanta|Seattle');
const ALNUM = [...'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'];

/** The corpus for `seed`, with `copiesPerTemplate` personalised copies of each template. */
export function generateCorpus(seed: number, copiesPerTemplate: number): Corpus {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const alnum = (n: number): string => Array.from({ length: n }, () => pick(ALNUM)).join('');
  const digits = (n: number): string => Array.from({ length: n }, () => String(int(0, 9))).join('');
  const name = (): string => pick(FIRST_NAMES);
  const amount = (): string =>
    rand() < 0.5 ? String(int(5, 500)) : `${int(1, 2999).toLocaleString('en-US')}.${digits(2)}`;
  const date = (): string => `${pick(MONTHS)} ${int(1, 28)}`;
  const time = (): string => `${int(1, 12)}:${pick(['00', '15', '30', '45'])} ${pick(['AM', 'PM'])}`;
  const phone = (): string => `(${int(2, 9)}${digits(2)}) ${int(2, 9)}${digits(2)}-${digits(4)}`;
  const code = (): string => digits(6);
  const short = (): string => `bit.ly/${alnum(5)}`;
  const phish = (): string =>
    pick([
      `https://${alnum(6).toLowerCase()}.secure-verify-acct.com/login?u=${alnum(8)}`,
      `http://usps-redelivery.top/${alnum(10)}`,
      `https://tinyurl.com/${alnum(7)}`,
    ]);
  const address = (): string => `${int(10, 9999)} ${pick(STREETS)}`;
  const tracking = (): string => `${pick(['1Z', '9400', 'JD'])}${digits(12)}`;
  const templates: readonly (() => string)[] = [
    // Political get-out-the-vote (peer-to-peer: the volunteer's name varies too).
    () =>
      `Hi ${name()}, this is ${name()} with Rivera for Senate. Election Day is ${pick(DAYS)}, ${date()}! ` +
      'Can we count on your vote for Dana Rivera? Find your polling place at vote.org. Reply STOP to opt out',
    () =>
      `${name()}, early voting ends ${pick(DAYS)}! Your polling location is ${pick(SCHOOLS)} Elementary, ` +
      `${address()}, open 7am-7pm. Questions? Call ${phone()}. ` +
      'Paid for by Friends of Tom Baker. Txt STOP to end',
    () =>
      `Hey ${name()}! It's ${name()}, a volunteer with the Green Party. Will you vote in the primary on ` +
      `${date()}? Reply YES or NO. Reply STOP to quit.`,
    () =>
      `URGENT ${name()}: our records show you haven't voted yet. Polls close at 8pm TONIGHT. ` +
      `Find your polling place: ${short()}`,
    () =>
      `${name()}, Dana Rivera needs you! Chip in $${amount()} before midnight to stop the extreme agenda: ` +
      `secure.actblue.com/donate/rivera?refcode=${alnum(8)} Stop2end`,
    () =>
      `Hi ${name()}, ${name()} here with Neighbors United. We're hosting a town hall with Mayor Ortiz on ` +
      `${date()} at ${time()} at the ${pick(SCHOOLS)} library. RSVP: ${short()}`,
    // Delivery notices, real and fake.
    () =>
      `USPS: Your package ${tracking()} could not be delivered due to an incomplete address. ` +
      `Update your details within 12 hours: ${phish()}`,
    () =>
      `FedEx: Hi ${name()}, your parcel ${tracking()} is scheduled for delivery on ${date()} ` +
      `between ${time()} and ${time()}. Manage delivery: fedex.com/track?n=${tracking()}`,
    () =>
      `Your Amazon order #${digits(3)}-${digits(7)}-${digits(7)} has shipped and will arrive ` +
      `${pick(DAYS)}. Track it at amzn.to/${alnum(7)}`,
    () =>
      `DHL Express: a customs fee of $${amount()} is due for shipment ${tracking()}. ` +
      `Pay now to avoid return to sender: ${phish()}`,
    () =>
      `Target: Hi ${name()}, your order ${digits(9)} is ready for pickup at ${address()}. ` +
      'Bring your ID and order number. Reply HELP for help.',
    // Bank alerts and bank phishing with per-recipient links.
    () =>
      `Chase Alert: Did you attempt a purchase of $${amount()} at ` +
      `${pick(['WALMART', 'BEST BUY', 'APPLE.COM', 'SHELL OIL', 'TARGET'])}? Reply YES or NO. ` +
      `If NO, call our fraud dept at ${phone()}.`,
    () =>
      'Wells Fargo: Your account has been temporarily locked due to unusual activity. ' +
      `Verify your identity at bit.ly/${alnum(5)} to restore access.`,
    () =>
      `Dear ${name()}, your Bank of America card ending ${digits(4)} has been suspended. ` +
      `Confirm your details within 24 hours: ${phish()}`,
    () =>
      `NOTICE: A login to your Citi online banking from ${pick(CITIES)} was detected on ${date()}. ` +
      `If this wasn't you, secure your account: ${phish()}`,
    () =>
      `IRS: ${name()}, you are eligible for a tax refund of $${amount()}. ` +
      `Claim your refund before ${date()} at ${phish()}`,
    // Appointment reminders.
    () =>
      `Hi ${name()}, this is a reminder of your appointment with Dr. ${pick(LAST_NAMES)} on ${date()} at ` +
      `${time()}. Reply C to confirm or R to reschedule. Call ${phone()} with questions.`,
    () =>
      `Bright Smile Dental: ${name()}, your cleaning is booked for ${pick(DAYS)} ${date()} at ${time()}. ` +
      'Please arrive 10 minutes early. Reply Y to confirm.',
    () =>
      `Reminder from Studio 9 Salon: ${name()}, your haircut with ${name()} is tomorrow at ${time()}. ` +
      `Need to change it? Call us at ${phone()}.`,
    () =>
      `${name()}, your ${pick(['Honda Civic', 'Toyota RAV4', 'Ford F-150', 'Subaru Outback'])} is due for ` +
      `service. Book at Metro Motors by ${date()} and get ${int(10, 30)}% off: ${short()}`,
    () =>
      `Hi ${name()}! Your table for ${int(2, 8)} at Luigi's Trattoria is confirmed for ${date()} at ` +
      `${time()}. Reply CANCEL to cancel your reservation.`,
    // Two-factor codes.
    () => `Your WhatsApp verification code is ${code()}. Do not share this code with anyone.`,
    () => `${code()} is your Instagram login code. It expires in 10 minutes.`,
    () => `G-${code()} is your Google verification code.`,
    () => `Use ${code()} to verify your Venmo account. If you did not request this, ignore this message.`,
    () =>
      `Your one-time passcode for Capital One is ${code()}. Never share it. ` +
      'We will never call to ask for it.',
    // Casual lines one person sends to many friends.
    () => `Hey ${name()}! Happy birthday!! Hope you have an amazing day 🎉🎂`,
    () => `${name()} are you coming to Jess's housewarming on ${pick(DAYS)}? Let me know!`,
    () => `Hi ${name()}, it's ${name()}. I got a new number, save this one! Text me back when you can.`,
    () =>
      `Hey ${name()}, we miss you at Iron Temple Gym! Come back this month and get your first ${int(2, 5)} ` +
      'classes free.',
  ];
  return {
    templates: templates.map((make) => Array.from({ length: copiesPerTemplate }, make)),
    personal: personalMessages(rand, 500),
  };
}

const FRAMES = words(
  'are you still up for {activity} {when}?|just got to {place}, where are you|' +
    'can you pick up {food} on the way home|omg {friend} just told me about {thing} 😂|' +
    'running late, be there by {time}|did you hear what happened at {place} {when}|' +
    "i'm so {feeling} about {thing} lol|thanks for {activity} yesterday, had a great time|" +
    "mom wants to know if you're coming for {food} {when}|can't make it {when}, {excuse}|" +
    'what time is {thing} tomorrow|send me the pics from {place}|' +
    "let's get {food} at {place} after work|don't forget about {thing}|how did {thing} go?|" +
    'i left my {item} at your place|the game starts at {time}, are you watching|' +
    'ok see you at {place} at {time}|{friend} says hi|can i borrow your {item} {when}|' +
    'ugh {thing} was so {feeling2}|wanna do {activity} {when} instead|' +
    "i'll bring {food}, you bring the {item}|have you talked to {friend} lately|" +
    'lmk if you need a ride to {place}|guess who i ran into at {place}|' +
    'is {friend} bringing {food} or should i|my {item} died, text {friend} for me|' +
    'traffic on the bridge is insane, {excuse}|we should plan {activity} with {friend} soon|' +
    'who won {thing}|pls remind me to call {friend} about {thing}|the dog ate my {item} again|' +
    'i owe you {food} for helping with {thing}|' +
    "i'm at {place} if you want to swing by|did you ever find your {item}|" +
    'tell {friend} happy birthday from me|no way, {friend} is going to {thing}?|' +
    'just finished {activity}, so {feeling}|grabbing {food}, want anything|' +
    'it is so {feeling2} out today|class got cancelled so i can do {activity} {when}|' +
    'remember when we got lost at {place}|heading home now, need anything from {place}|' +
    'can you send me the address for {thing}|you left your {item} in my car|' +
    'i think {friend} is mad at me|we are out of {food} again|parking at {place} is a nightmare|' +
    'sorry {excuse}, rain check on {activity}?',
);
const FILLS: Readonly<Record<string, readonly string[]>> = {
  activity: words(
    'dinner|the movies|bowling|a hike|brunch|karaoke|yoga|the beach|trivia night|game night|a run|shopping',
  ),
  when: words('tonight|tomorrow|this weekend|on friday|next week|later|saturday morning|after class'),
  place: words(
    "the mall|jake's|the office|the airport|the gym|target|the park|grandmas|the library|costco|" +
      'the station|church',
  ),
  food: words('pizza|tacos|milk|sushi|bagels|thai food|burgers|ice cream|groceries|coffee|wings|pho'),
  friend: words('sam|mike|jen|your brother|my sister|tasha|the twins|carlos|dad|aunt linda|kev|becca'),
  thing: words(
    'the party|the interview|the concert|the exam|the wedding|the meeting|the recital|the trip|the new job|' +
      'the game|the surprise|the date',
  ),
  time: words('7|8:30|noon|6pm|9|5:15|ten|half past'),
  feeling: words('excited|nervous|tired|happy|stressed|done|pumped|confused'),
  feeling2: words('boring|fun|long|weird|awkward|amazing|loud|cold'),
  excuse: words(
    "work ran late|the kids are sick|my car broke down|i'm exhausted|got stuck at the dentist|family stuff",
  ),
  item: words('charger|jacket|keys|umbrella|sunglasses|laptop|headphones|drill|cooler|speaker'),
};
const CLOSERS = ['', '', '', ' lol', ' 😊', ' !!', ' thx', ' xo', ' haha', ' 👍', ' ok?', ' ❤️'];

function personalMessages(rand: () => number, count: number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const messages = new Set<string>();
  while (messages.size < count) {
    const sentences = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
      pick(FRAMES).replace(/\{(\w+)\}/g, (_, slot: string) => pick(FILLS[slot]!)),
    );
    const text = sentences.join(pick(['. ', ' ', '\n', '! '])) + pick(CLOSERS);
    messages.add(rand() < 0.3 ? text[0]!.toUpperCase() + text.slice(1) : text);
  }
  return [...messages];
}
