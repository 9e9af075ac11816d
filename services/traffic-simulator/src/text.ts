/**
 * Personalisation for message templates: first names, streets, amounts, dates, codes. Names
 * are common given names and invented places and businesses: no real person's data.
 */
import type { Random } from './random.ts';

const words = (list: string): readonly string[] => list.split('|');

export const FIRST_NAMES = words(
  'Ann|Bob|Maria|Jose|Chris|Alex|Li|Mohammed|Priya|Kim|Jen|Michael|Sarah|David|Emily|James|Olivia|' +
    'Daniel|Sophia|Matt|Isabella|Tony|Mia|Josh|Charlotte|Andrew|Amelia|Ryan|Harper|Brandon|Evelyn|' +
    'Tyler|Abby|Kevin|Ella|Justin|Avery|Nathan|Grace|Ben|Chloe|Jon|Victoria|Zoe|Luis|Ana|Carlos|' +
    'Fatima|Aisha|Wei|Hiroshi|Yuki|Dmitri|Olga|Kwame|Ngozi|Siobhan|Rosa|Tom|Linda|Marcus|Tasha|Dana',
);
export const LAST_NAMES = words(
  'Smith|Johnson|Nguyen|Garcia|Patel|Okafor|Kowalski|Rossi|Schmidt|Lee|Brown|Martinez|Davis|Wilson|' +
    'Anderson|Thomas|Moore|Jackson|White|Harris|Clark|Lewis|Walker|Young|Hill',
);
export const STREETS = words(
  'Main St|Oak Ave|Maple Dr|Elm St|Cedar Ln|Park Blvd|Lake Rd|Hill St|Pine Ct|Sunset Blvd|Church St|' +
    'Mill Rd|River Rd|Birch Way|Willow Ln|Chestnut St|Spring St|Highland Ave|Meadow Ln|Ridge Rd',
);
export const SCHOOLS = words('Lincoln|Roosevelt|Jefferson|Franklin|Madison|Adams|Hamilton|Monroe|Garfield');
const MONTHS = words('January|February|March|April|May|June|July|August|September|October|November|December');
const MONTHS_SHORT = words('Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec');
const DAYS = words('Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday');
const ALNUM = [...'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'];
const DAY_MS = 86_400_000;

/** Template helpers bound to a random stream and the run's start (dates are relative to it). */
export interface Personaliser {
  firstName(): string;
  lastName(): string;
  street(): string;
  /** A house number and street, "4821 Maple Dr". */
  address(): string;
  /** Dollars: "$35" or "$1,240.50". */
  amount(lo: number, hi: number): string;
  /** A day `lo` to `hi` days after the run starts: "Tuesday, December 9". */
  date(lo: number, hi: number): string;
  /** A short date: "Dec 9". */
  shortDate(lo: number, hi: number): string;
  /** A clock time on the quarter hour: "10:45 AM". */
  time(): string;
  /** Random letters and digits (link paths, codes). */
  code(length: number): string;
  digits(length: number): string;
}

export function createPersonaliser(rng: Random, startTime: number): Personaliser {
  const day = (lo: number, hi: number) => new Date(startTime + rng.int(lo, hi) * DAY_MS);
  const digits = (n: number) => Array.from({ length: n }, () => String(rng.int(0, 9))).join('');
  return {
    firstName: () => rng.pick(FIRST_NAMES),
    lastName: () => rng.pick(LAST_NAMES),
    street: () => rng.pick(STREETS),
    address: () => `${rng.int(10, 9899)} ${rng.pick(STREETS)}`,
    amount: (lo, hi) => {
      if (rng.chance(0.5)) return `$${rng.int(lo, hi)}`;
      const whole = rng.int(lo, hi).toLocaleString('en-US');
      return `$${whole}.${digits(2)}`;
    },
    date: (lo, hi) => {
      const d = day(lo, hi);
      return `${DAYS[d.getUTCDay()]}, ${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
    },
    shortDate: (lo, hi) => {
      const d = day(lo, hi);
      return `${MONTHS_SHORT[d.getUTCMonth()]} ${d.getUTCDate()}`;
    },
    time: () => `${rng.int(8, 11)}:${rng.pick(['00', '15', '30', '45'])} ${rng.pick(['AM', 'PM'])}`,
    code: (n) => Array.from({ length: n }, () => rng.pick(ALNUM)).join(''),
    digits,
  };
}
