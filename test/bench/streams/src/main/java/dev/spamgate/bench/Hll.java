package dev.spamgate.bench;

/**
 * HyperLogLog with p = 12 (4,096 registers, standard error about 1.04 / sqrt(4096) = 1.6%), the
 * precision spamgate uses for distinctRecipients. Registers are one byte each (values 0..53) so
 * that the serde can copy them as they are. Hashes must be well mixed 64-bit values
 * ({@link Hashing#hash64}).
 */
public final class Hll {
  public static final int P = 12;
  public static final int M = 1 << P;
  private static final double ALPHA = 0.7213 / (1.0 + 1.079 / M);

  private Hll() {}

  /** Adds a hash to the registers. */
  public static void add(byte[] registers, long hash) {
    int index = (int) (hash >>> (64 - P));
    // The low 52 bits, shifted up, with a sentinel bit so that rho is at most 64 - P + 1.
    long rest = (hash << P) | (1L << (P - 1));
    byte rho = (byte) (Long.numberOfLeadingZeros(rest) + 1);
    if (rho > registers[index]) registers[index] = rho;
  }

  /** The estimate: raw HyperLogLog, with linear counting while it is small (E <= 2.5 m). */
  public static double estimate(byte[] registers) {
    double sum = 0;
    int zeros = 0;
    for (byte r : registers) {
      sum += Double.longBitsToDouble((1023L - r) << 52); // exactly 2^-r
      if (r == 0) zeros++;
    }
    double e = ALPHA * M * M / sum;
    if (e <= 2.5 * M && zeros > 0) return M * Math.log((double) M / zeros);
    return e;
  }
}
