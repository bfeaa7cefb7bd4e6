// Verifies a caller's bearer token: a compact JWS (JWT) signed with Ed25519 ("alg": "EdDSA") by the
// token issuer whose public JWK the server is configured with. Its claims become the policy's
// `input.claims`. Only what the server needs: one algorithm, exp/nbf checked, nothing else trusted.
import { createPublicKey, verify } from "node:crypto";

export class TokenError extends Error {}

/**
 * A verifier for tokens signed by `issuerJwk` (an OKP Ed25519 public JWK: { kty, crv, x }).
 *
 * @example
 * const verifyToken = tokenVerifier(JSON.parse(process.env.TOKEN_ISSUER_JWK));
 * const claims = verifyToken(request.headers.authorization);
 */
export function tokenVerifier(issuerJwk) {
  if (issuerJwk?.kty !== "OKP" || issuerJwk?.crv !== "Ed25519" || typeof issuerJwk.x !== "string")
    throw new TypeError(
      "the token issuer key must be an Ed25519 public JWK {kty: OKP, crv: Ed25519, x}",
    );
  const key = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: issuerJwk.x },
    format: "jwk",
  });
  return (authorization, now = Date.now() / 1000) => {
    const match = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(
      authorization ?? "",
    );
    if (!match) throw new TokenError("expected an Authorization: Bearer <JWT> header");
    const [, header64, payload64, signature64] = match;
    const header = parseJson(header64, "header");
    if (header.alg !== "EdDSA") throw new TokenError("the token must be signed with EdDSA");
    const signed = Buffer.from(`${header64}.${payload64}`);
    if (!verify(null, signed, key, Buffer.from(signature64, "base64url")))
      throw new TokenError("the token signature does not verify");
    const claims = parseJson(payload64, "payload");
    if (typeof claims.exp !== "number" || claims.exp <= now)
      throw new TokenError("the token has expired (or has no exp)");
    if (typeof claims.nbf === "number" && claims.nbf > now)
      throw new TokenError("the token is not valid yet");
    return claims;
  };
}

function parseJson(part, what) {
  try {
    const value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error();
    return value;
  } catch {
    throw new TokenError(`the token ${what} is not a JSON object`);
  }
}
