/** Processor options for pure tests: the defaults, with relation-book ids under a test hash key. */
import { TEST_HASH_KEY } from '@spamgate/test';
import { createFactKeys, type FactKeys, keyedProcessorOptions } from '../src/engine/facts.ts';
import { DEFAULT_PROCESSOR_OPTIONS, type ProcessorOptions } from '../src/engine/processor-api.ts';

/** The defaults, with book ids under `keys` (those a test hashes its recipients with). */
export const processorOptionsFor = (keys: FactKeys): ProcessorOptions =>
  Object.freeze({ ...DEFAULT_PROCESSOR_OPTIONS, ...keyedProcessorOptions(keys) });

const TEST_KEYS = createFactKeys(TEST_HASH_KEY);

/** An address's book id under the tests' hash key. */
export const TEST_BOOK_ID = TEST_KEYS.bookId;

export const TEST_PROCESSOR_OPTIONS: ProcessorOptions = processorOptionsFor(TEST_KEYS);
