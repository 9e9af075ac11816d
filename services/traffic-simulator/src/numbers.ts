/**
 * Fictional phone numbers. Every address the simulator makes up is a North American number
 * +1 NPA 555 XXXX: real area codes, always the 555 exchange, which is not assigned to
 * subscribers (555-0100 to 555-0199 are reserved for fiction; 555-1212 and 555-4334 are
 * services, and their hundreds are left out). That gives about 2.9 million numbers in units
 * of 100 (555-XY00 to 555-XY99). Each scenario role gets its own units, so numbers never
 * collide across scenarios unless a scenario means them to (contacts).
 *
 * The feature engine reads a recipient's 6-digit national prefix (NPA + exchange), so the
 * spread of recipients over area codes is what their prefix entropy measures: 'local' roles
 * (friends, a voter file, a school district) take few area codes, 'national' ones (lists
 * bought or scraped) take one unit in as many area codes as possible.
 */
import { SpamgateError } from '@spamgate/core';
import { hashString } from './random.ts';

/** Real US area codes, grouped by state (DC first), so neighbouring ones are one region. */
// biome-ignore format: a table
export const AREA_CODES: readonly number[] = [
  202, 240, 301, 410, 443, 667, 571, 703, 276, 434, 540, 757, 804, 302,
  205, 251, 256, 334, 938, 907, 480, 520, 602, 623, 928, 479, 501, 870,
  209, 213, 279, 310, 323, 341, 408, 415, 424, 442, 510, 530, 559, 562, 619, 626, 628, 650, 657, 661,
  669, 707, 714, 747, 760, 805, 818, 831, 858, 909, 916, 925, 949, 951,
  303, 719, 720, 970, 203, 475, 860, 959,
  239, 305, 321, 352, 386, 407, 561, 689, 727, 754, 772, 786, 813, 850, 863, 904, 941, 954,
  229, 404, 470, 478, 678, 706, 762, 770, 912, 808, 208, 986,
  217, 224, 309, 312, 331, 618, 630, 708, 773, 779, 815, 847, 872,
  219, 260, 317, 463, 574, 765, 812, 930, 319, 515, 563, 641, 712, 316, 620, 785, 913,
  270, 364, 502, 606, 859, 225, 318, 337, 504, 985, 207,
  339, 351, 413, 508, 617, 774, 781, 857, 978,
  231, 248, 269, 313, 517, 586, 616, 734, 810, 906, 947, 989,
  218, 320, 507, 612, 651, 763, 952, 228, 601, 662, 769, 314, 417, 573, 636, 660, 816,
  406, 308, 402, 531, 702, 725, 775, 603,
  201, 551, 609, 640, 732, 848, 856, 862, 908, 973, 505, 575,
  212, 315, 332, 347, 516, 518, 585, 607, 631, 646, 680, 716, 718, 838, 845, 914, 917, 929, 934,
  252, 336, 704, 743, 828, 910, 919, 980, 984, 701,
  216, 220, 234, 330, 380, 419, 440, 513, 567, 614, 740, 937, 405, 539, 580, 918, 458, 503, 541, 971,
  215, 223, 267, 272, 412, 445, 484, 570, 610, 717, 724, 814, 878, 401, 803, 843, 854, 864, 605,
  423, 615, 629, 731, 865, 901, 931,
  210, 214, 254, 281, 325, 346, 361, 409, 430, 432, 469, 512, 682, 713, 726, 737, 806, 817, 830, 832,
  903, 915, 936, 940, 956, 972, 979,
  385, 435, 801, 802, 206, 253, 360, 425, 509, 564, 304, 681, 262, 414, 534, 608, 715, 920, 307,
];

/** Hundreds of 555-XXXX handed out: all but 12 (555-1212, directory assistance) and 43 (555-4334). */
const UNITS: readonly number[] = Array.from({ length: 100 }, (_, u) => u).filter((u) => u !== 12 && u !== 43);
const UNIT_SIZE = 100;

/** The fictional number space cannot hold what a run needs. */
export class NumberSpaceError extends SpamgateError {
  override name = 'NumberSpaceError';
  constructor(what: string, needed: number, left: number) {
    super(
      `the fictional number space (+1 NPA 555 XXXX) cannot hold ${needed} more numbers for ${what}: ` +
        `${left} are left; lower the rate or the duration`,
      { code: 'NUMBER_SPACE_EXHAUSTED' },
    );
  }
}

/** Addresses of one role: index i in [0, size) to a distinct address (indexes wrap around). */
export interface AddressRange {
  readonly size: number;
  at(index: number): string;
}

export type Spread = 'local' | 'national';

export interface NumberPool {
  /**
   * At least `count` numbers for `what`. 'local' takes whole area codes in order, 'national'
   * one unit per area code across all of them. `sequential`: index i and i + 1 are adjacent
   * numbers (a number walker's list); otherwise indexes are scattered over the units, so
   * consecutive indexes are never near each other.
   */
  allocate(what: string, count: number, spread: Spread, options?: { sequential?: boolean }): AddressRange;
  /** Numbers not handed out yet. */
  readonly left: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function format(areaCode: number, unit: number, line: number): string {
  return `+1${areaCode}555${String(unit * UNIT_SIZE + line).padStart(4, '0')}`;
}

/**
 * The pool of a run. `seed` rotates the order area codes and hundreds are handed out in, so
 * runs with different seeds use different numbers (runs on the same topics do not inherit each
 * other's senders), while the same seed always gives the same numbers.
 */
export function createNumberPool(seed = 0): NumberPool {
  const codes = AREA_CODES.length;
  const codeShift = hashString('area codes', seed) % codes;
  const unitShift = hashString('hundreds', seed) % UNITS.length;
  const used = new Uint8Array(codes * UNITS.length);
  let free = used.length;
  // Local: area-code-major from the front; national: unit-major from the back.
  const localOrder = (k: number) => k;
  const nationalOrder = (k: number) => {
    const unit = Math.floor(k / codes);
    const code = codes - 1 - (k % codes);
    return code * UNITS.length + unit;
  };

  return {
    get left() {
      return free * UNIT_SIZE;
    },
    allocate(what, count, spread, options = {}) {
      const units = Math.max(1, Math.ceil(count / UNIT_SIZE));
      if (units > free) throw new NumberSpaceError(what, units * UNIT_SIZE, free * UNIT_SIZE);
      const order = spread === 'local' ? localOrder : nationalOrder;
      const taken: number[] = [];
      for (let k = 0; k < used.length && taken.length < units; k++) {
        const slot = order(k);
        if (used[slot]) continue;
        used[slot] = 1;
        taken.push(slot);
      }
      free -= units;
      if (spread === 'local') taken.sort((a, b) => a - b);
      const size = units * UNIT_SIZE;
      const address = (position: number): string => {
        const slot = taken[Math.floor(position / UNIT_SIZE)]!;
        const code = AREA_CODES[(Math.floor(slot / UNITS.length) + codeShift) % codes]!;
        const unit = UNITS[((slot % UNITS.length) + unitShift) % UNITS.length]!;
        return format(code, unit, position % UNIT_SIZE);
      };
      if (options.sequential) return { size, at: (i) => address(((i % size) + size) % size) };
      // An affine permutation with a multiplier near size / golden ratio: consecutive indexes
      // land about 0.38 of the range apart, never within the 10 numbers that look like walking.
      let multiplier = Math.max(1, Math.round(size * 0.6180339887));
      while (gcd(multiplier, size) !== 1) multiplier++;
      const offset = Math.floor(size / 7);
      return { size, at: (i) => address((((i % size) + size) * multiplier + offset) % size) };
    },
  };
}
