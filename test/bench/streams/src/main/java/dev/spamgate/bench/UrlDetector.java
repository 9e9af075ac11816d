package dev.spamgate.bench;

import java.util.regex.Pattern;

/**
 * Whether a message body holds a link, approximating spamgate's tokeniser
 * (services/feature-engine/src/content/normalise.ts and content/domains.ts): {@code http://},
 * {@code https://} or {@code www.} followed by a non-space, or a bare host (labels, a dot, a known
 * TLD) that is not glued to a word before or after it and is either followed by a path, query or
 * fragment ({@code bit.ly/Xk29a}) or ends in a TLD that is not also a common word
 * ({@code paypal-secure.com}). Unlike spamgate it does not NFKC-normalise the body first.
 */
public final class UrlDetector {
  private UrlDetector() {}

  /** TLDs taken for a host even with nothing after them (spamgate's BARE_TLDS). */
  private static final String BARE_TLDS =
      "ai asia au biz br buzz ca cc cf cfd ch club cn co com cyou de edu eu fr ga gd gl gov gq icu "
          + "ie info io jp kr la ly ml mx net ng nl nz online org ph pk pl pw ru sbs sh su tech tk tr tv "
          + "ua uk vn website ws xin xyz za";

  /** Further TLDs that count only with a path after them (spamgate's PATH_TLDS). */
  private static final String PATH_TLDS =
      "am app ar art as at be bid bond by cam click cloud date digital do email es fit fm fun go "
          + "guru help host id in ink is it link live loan lol me men mobi mom monster mov my name new no "
          + "one party pro rest review run sale se services shop site so space store support to today top "
          + "trade us vip win work zip";

  private static final String WORD = "\\p{L}\\p{N}\\p{M}";
  private static final String LABEL = "[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?";

  private static String alternation(String words) {
    String[] list = words.trim().split(" ");
    // Longest first, so that "com" is not cut to "co".
    java.util.Arrays.sort(list, (a, b) -> b.length() - a.length());
    return String.join("|", list);
  }

  private static final Pattern LINK =
      Pattern.compile(
          "(?:https?://|www\\.)[^\\s<>\"]"
              // bare host with a path, query or fragment: any listed TLD
              + "|(?<![" + WORD + "._\\-@/])(?:" + LABEL + "\\.)+(?:" + alternation(BARE_TLDS + " " + PATH_TLDS)
              + ")[/?#]"
              // bare host with nothing after it: only TLDs that are not words
              + "|(?<![" + WORD + "._\\-@/])(?:" + LABEL + "\\.)+(?:" + alternation(BARE_TLDS) + ")(?![" + WORD
              + "\\-])",
          Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);

  public static boolean hasUrl(CharSequence body) {
    if (body == null) return false;
    String s = body.toString();
    if (s.indexOf('.') < 0 && s.indexOf("://") < 0) return false; // every link form has one
    return LINK.matcher(s).find();
  }
}
