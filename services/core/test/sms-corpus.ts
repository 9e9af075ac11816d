/**
 * A deterministic SMS corpus for the content tests: 30 templates, each sent to many recipients with
 * per-recipient personalisation (names, volunteers' names, amounts, dates, times, codes, tracking
 * numbers, addresses, per-recipient links, phishing links rotating over three domains), and 500
 * distinct personal messages of one to three sentences from 50 frames with slots. The same seed
 * always gives the same corpus: measured rates quoted in the code depend on it.
 */

import { mulberry32 } from '../src/random.ts';

export { mulberry32 };

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

/** The corpus of `generateCorpus` with more templates and the short replies everybody sends. */
export interface ClusterCorpus extends Corpus {
  /** Per template, whether it is casual chat one person sends to friends rather than a campaign. */
  readonly casual: readonly boolean[];
  /** Short or generic messages sent by millions of people alike, each with its variants. */
  readonly generic: readonly string[];
}

// Templates the content-cluster test adds: the P2P script shapes, full names, small wording variants
// per copy, other rotating phishing domains, Spanish and Chinese.
const CHINESE_NAMES = words(
  '王伟|李娜|张敏|刘洋|陈静|杨帆|赵磊|黄丽|周杰|吴芳|徐明|孙悦|马超|朱婷|胡军|郭晶',
);
const SPANISH_NAMES = words('José|María|Lucía|Andrés|Sofía|Javier|Carmen|Diego|Valentina|Mateo|Ximena|Tomás');
const ORGS = words('Working Families Alliance|Neighbors for Progress|Citizens for a Safe Valley');
const TEMPLATE_COUNT = 30;
const CASUAL_FROM = 26;

/**
 * The corpus of `generateCorpus(seed, copiesPerTemplate)`, followed by 14 more templates drawn from
 * their own generator (so the first 30 and the personal messages are exactly those of
 * `generateCorpus`), and the generic short messages.
 */
export function generateClusterCorpus(seed: number, copiesPerTemplate: number): ClusterCorpus {
  const base = generateCorpus(seed, copiesPerTemplate);
  const rand = mulberry32(seed ^ 0x5eed5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const alnum = (n: number): string => Array.from({ length: n }, () => pick(ALNUM)).join('');
  const digits = (n: number): string => Array.from({ length: n }, () => String(int(0, 9))).join('');
  const name = (): string => pick(FIRST_NAMES);
  const fullName = (): string => `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`;
  const date = (): string => `${pick(MONTHS)} ${int(1, 28)}`;
  const time = (): string => `${int(1, 12)}:${pick(['00', '15', '30', '45'])} ${pick(['AM', 'PM'])}`;
  const amount = (): string => `${int(1, 99)}.${digits(2)}`;
  const tollPhish = (): string =>
    pick([
      `https://ezpass-${alnum(4).toLowerCase()}.com/pay?id=${alnum(9)}`,
      `https://e-zpass.toll-services.vip/${alnum(8)}`,
      `www.paytoll-ny.xyz/${alnum(6)}`,
      `https://is.gd/${alnum(6)}`,
    ]);
  const org = pick(ORGS);
  const templates: readonly (() => string)[] = [
    () =>
      `Hi ${name()}, it's ${name()} with ${org}. Can we count on your vote for Maria Lopez on ` +
      `${date()}? Reply STOP to opt out`,
    () =>
      `Hello ${fullName()}, ${name()} here from the Sierra Club. ` +
      `${pick(['Will you join', 'Can you join', 'Would you join'])} our rally for clean water at City Hall on ` +
      `${date()}? ${pick(['Reply STOP to opt out', 'Text STOP to stop', 'Reply STOP to end'])}`,
    () =>
      `Hi ${name()}! This is ${name()}, a volunteer with Yes on Prop 12. Do you support lowering rent ` +
      `for seniors in ${pick(CITIES)}? Reply 1 for yes, 2 for no. STOP2END`,
    () =>
      `${pick(['E-ZPass', 'EZPass', 'E-ZPASS'])}: ${name()}, you have an unpaid toll balance of $${amount()}. ` +
      `To avoid a late fee of $${amount()}, pay by ${date()}: ${tollPhish()}`,
    () =>
      `UPS: ${fullName()}, package ${pick(['1Z', '9400'])}${digits(14)} arrives ${pick(DAYS)} by ` +
      `${time()}. Delivery address: ${int(10, 9999)} ${pick(STREETS)}, ${pick(CITIES)}. ` +
      `Change delivery: ups.com/m/${alnum(9)}`,
    () =>
      `[Coinbase] Your verification code is ${digits(6)}. Don't share this code with anyone; ` +
      'Coinbase staff will never ask for it.',
    () =>
      `${fullName()}, your appointment at CVS MinuteClinic ${int(10, 9999)} ${pick(STREETS)} is on ` +
      `${date()} at ${time()}. Reply 1 to confirm, 2 to cancel.`,
    () =>
      `Congratulations ${name()}! You've been selected for a $${int(500, 5000)} Walmart gift card. ` +
      `Claim your reward within 48 hours: ${pick(['bit.ly', 'cutt.ly', 'rb.gy'])}/${alnum(6)}`,
    () =>
      `Hi ${name()}, your Verizon bill of $${amount()} is due ${date()}. ` +
      `Pay at vz.to/${alnum(6)} or reply PAY to pay with your card ending ${digits(4)}.`,
    () =>
      `Hola ${pick(SPANISH_NAMES)}, soy ${pick(SPANISH_NAMES)} de Vecinos Unidos. ¿Podemos contar con tu ` +
      `voto por Ana Torres el ${int(1, 28)} de noviembre? Responde STOP para no recibir más mensajes.`,
    () =>
      `Correos: Estimado/a ${pick(SPANISH_NAMES)}, su paquete ${pick(['ES', 'PQ'])}${digits(10)} está ` +
      `retenido por falta de pago de ${int(1, 3)},${digits(2)} €. Pague aquí: correos-es.${pick([
        'top',
        'xyz',
      ])}/${alnum(7)}`,
    () =>
      `【顺丰速运】${pick(CHINESE_NAMES)}您好，您的快递单号：SF${digits(12)}，因地址不详无法派送，` +
      `请于二十四小时内点击链接更新地址：https://sf-${alnum(4).toLowerCase()}.cn/${alnum(6)} 退订回T`,
    () =>
      `【招商银行】尊敬的${pick(CHINESE_NAMES)}客户，您尾号${digits(4)}的信用卡积分即将过期，` +
      `请登录 cmb-jf.${pick(['com', 'top'])}/${alnum(6)} 兑换礼品，逾期作废。`,
    () => `Your Uber code is ${digits(4)}. Never share this code. Reply STOP ALL to unsubscribe.`,
  ];
  return {
    templates: [
      ...base.templates,
      ...templates.map((make) => Array.from({ length: copiesPerTemplate }, make)),
    ],
    casual: [
      ...base.templates.map((_, t) => t >= CASUAL_FROM && t < TEMPLATE_COUNT),
      ...templates.map(() => false),
    ],
    personal: base.personal,
    generic: genericMessages(rand),
  };
}

// What millions of people text each other, alike: none of it may form a content cluster.
const GENERIC = words(
  'ok|Ok!|OK.|k|kk|okay|yes|Yes!|yep|yeah|no|nope|sure|thanks!|Thanks|thank you|Thank you so much!|thx|ty|' +
    'on my way|On my way!|omw|love you|Love you too ❤️|i love you|call me|Call me when you can|' +
    'can you call me?|lol|LOL|haha|hahaha 😂😂|😂|👍|❤️|🎉🎂|sounds good|Sounds good!|see you soon|' +
    'see you there|be there in 5|Be there in 10 min|running late|running late sorry|good night|' +
    'Good morning!|good morning beautiful|happy birthday!|Happy Birthday!! 🎉|miss you|where are you?|' +
    'what time?|no worries|np|got it|Got it, thanks|im here|I’m here|coming down now|haha yes|same|' +
    'yes please|no thanks|who is this?|wrong number|sorry wrong number|Happy new year!|Merry Christmas!!|' +
    'Merry Christmas and Happy New Year to you and your family!|Happy Thanksgiving!|Congrats!!|' +
    'Congratulations!! So proud of you|let me know|talk later|ttyl|on the way home|' +
    "I'll be there at 7|just landed|at the store, need anything?|did you eat?|text me when you get home|" +
    'drive safe|Drive safe! Text me when you get there|call you back in 5|Can’t talk now, call you later|' +
    'What are you doing?|how are you?|Hey, how are you doing?|Good, you?|me too|same here|for sure|' +
    'STOP|Stop|stop texting me|STOP ALL|unsubscribe|Opt out|cancel|Sí|gracias|Gracias!|te quiero|' +
    'ya voy|nos vemos|buenas noches|好的|谢谢|我在路上|好的，谢谢|晚安|收到|' +
    'Happy birthday! Hope you have an amazing day|Thank you for your help today|Yes I will be there|' +
    'I am on my way now|ok see you tomorrow|See you tomorrow!|love you, good night|' +
    'Hi, how are you? Long time no see!|hey what are you up to tonight?|Are you home?|' +
    'I will call you when I get home|Can you pick me up?|Hey! Yes, see you then 😊',
);

function genericMessages(rand: () => number): string[] {
  // Each as written, and once more with a name greeting or a stray emoji, as people write them.
  const variants = GENERIC.map((m) =>
    rand() < 0.5
      ? `${m} ${['😊', '!!', '❤️', 'xx', '🙏'][Math.floor(rand() * 5)]}`
      : `Hey ${FIRST_NAMES[Math.floor(rand() * FIRST_NAMES.length)]} ${m}`,
  );
  return [...GENERIC, ...variants];
}
