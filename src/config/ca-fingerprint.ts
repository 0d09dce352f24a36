/**
 * `remoteCASHA256`: the SHA-256 of a CA certificate's DER encoding, as
 * `openssl x509 -noout -fingerprint -sha256` prints it after `=`
 * (`AB:CD:…`, 32 pairs) or as 64 bare hex digits, in either case. The
 * canonical form is openssl's, which is also what Node's
 * `X509Certificate.fingerprint256` returns, so the two compare as strings.
 */
export function caFingerprint(text: string): string | null {
  const pairs = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$/.test(text);
  const bare = /^[0-9A-Fa-f]{64}$/.test(text);
  if (!pairs && !bare) return null;
  const hex = text.replaceAll(':', '').toUpperCase();
  return hex.match(/../g)?.join(':') ?? null;
}
