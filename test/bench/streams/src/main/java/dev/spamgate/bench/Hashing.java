package dev.spamgate.bench;

/** 64-bit hash of recipient addresses for the distinct-recipient counter. */
public final class Hashing {
  private Hashing() {}

  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  /**
   * FNV-1a over the bytes, then a 64-bit avalanche finaliser: FNV alone leaves the top bits (the
   * HyperLogLog register index) poorly mixed for short inputs such as phone numbers.
   */
  public static long hash64(byte[] bytes, int offset, int length) {
    long h = FNV_OFFSET;
    for (int i = offset; i < offset + length; i++) {
      h ^= bytes[i] & 0xff;
      h *= FNV_PRIME;
    }
    return mix(h);
  }

  /** The finaliser of MurmurHash3 (fmix64). */
  static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
