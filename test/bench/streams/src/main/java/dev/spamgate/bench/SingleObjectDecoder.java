package dev.spamgate.bench;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * Reads spamgate's Avro single-object encoding: C3 01, the writer schema's CRC-64-AVRO
 * fingerprint of its parsing canonical form as 8 bytes LITTLE-endian, then the Avro binary body.
 * Like spamgate's codec, it knows the current schema of a record (schemas/avro/NAME.avsc) and its
 * released versions (schemas/history/NAME/vN.avsc, if that folder is there), and resolves any of
 * them to the current one.
 */
public final class SingleObjectDecoder {
  /** Why bytes could not be decoded. */
  public static final class DecodeException extends Exception {
    DecodeException(String message) {
      super(message, null, false, false);
    }
  }

  private static final class Writer {
    final String record;
    final GenericDatumReader<GenericRecord> reader;

    Writer(String record, GenericDatumReader<GenericRecord> reader) {
      this.record = record;
      this.reader = reader;
    }
  }

  private static final int HEADER = 10;

  private final Map<Long, Writer> writers = new HashMap<>();
  private final ThreadLocal<BinaryDecoder> decoders = new ThreadLocal<>();

  /**
   * @param avroDir the folder holding NAME.avsc (spamgate's schemas/avro)
   * @param records the record names to load, e.g. MessageEvent
   */
  public SingleObjectDecoder(File avroDir, String... records) throws IOException {
    File historyRoot = new File(avroDir.getAbsoluteFile().getParentFile(), "history");
    for (String record : records) {
      Schema current = parse(new File(avroDir, record + ".avsc"));
      List<Schema> versions = new ArrayList<>();
      versions.add(current);
      File[] history = new File(historyRoot, record).listFiles((d, n) -> n.matches("v\\d+\\.avsc"));
      if (history != null) for (File f : history) versions.add(parse(f));
      for (Schema writer : versions) {
        long fp = SchemaNormalization.parsingFingerprint64(writer);
        writers.putIfAbsent(fp, new Writer(record, new GenericDatumReader<>(writer, current)));
      }
    }
  }

  private static Schema parse(File f) throws IOException {
    return new Schema.Parser().parse(f); // one parser per file: versions share type names
  }

  /** The fingerprint of the header as spamgate writes it: 8 bytes after the marker, little-endian. */
  static long headerFingerprint(byte[] bytes) {
    long fp = 0;
    for (int i = 9; i >= 2; i--) fp = (fp << 8) | (bytes[i] & 0xff);
    return fp;
  }

  /** Decodes single-object encoded bytes that must hold {@code record}. */
  public GenericRecord decode(String record, byte[] bytes) throws DecodeException {
    if (bytes == null || bytes.length == 0) throw new DecodeException("no bytes");
    if (bytes.length < 2 || bytes[0] != (byte) 0xC3 || bytes[1] != 0x01)
      throw new DecodeException("no single-object marker C3 01");
    if (bytes.length < HEADER) throw new DecodeException("shorter than the 10-byte header");
    long fp = headerFingerprint(bytes);
    Writer w = writers.get(fp);
    if (w == null) throw new DecodeException("unknown fingerprint " + Long.toHexString(fp));
    if (!w.record.equals(record)) throw new DecodeException("bytes hold a " + w.record);
    BinaryDecoder d = DecoderFactory.get().binaryDecoder(bytes, HEADER, bytes.length - HEADER, decoders.get());
    decoders.set(d);
    try {
      GenericRecord r = w.reader.read(null, d);
      if (!d.isEnd()) throw new DecodeException("bytes after the body");
      return r;
    } catch (IOException | RuntimeException e) {
      // Avro reports truncated or corrupt bodies as EOFException, AvroRuntimeException,
      // ArrayIndexOutOfBounds, NegativeArraySize ...: all of them mean "undecodable".
      throw new DecodeException("body does not decode: " + e);
    }
  }
}
