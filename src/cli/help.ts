// The CLI's help texts: one overview, and per command a usage line, what it does and its options.
// `cryptotensors COMMAND --help` prints the command's text; a usage error prints only its usage line.

export interface CommandHelp {
  /** `cryptotensors NAME ...` synopsis (one or more lines). */
  usage: string;
  /** One line for the overview. */
  summary: string;
  /** Full description and options for `--help`. */
  details: string;
}

const KEYS = `  --keys JWKS_FILE            keys to use (default: the CRYPTOTENSOR_KEYS environment variable)`;
const TRUST = `${KEYS}
  --verify-keys PUBLIC_JWKS   pinned verification keys: the header must be signed by one of them
  --jku-root DIR              a directory a header's file:// jku may point into (repeatable)`;
const MODEL = `IN may be a model directory (shards + model.safetensors.index.json, or model.safetensors).
  --require-bound-shards      refuse models whose shards were encrypted one by one`;
const PROVIDER = `  --key-provider URI          keys from a provider (repeatable): pkcs11:token=…;object=…?module-path=…&pin-source=…
                              (RFC 7512; keys stay in the token, named by --enc-kid/--sign-kid labels),
                              kmip://host:port?cert=…&key=…&ca=…, or file:/path/keys.jwks`;
const UNAUTHENTICATED = `  --allow-unauthenticated     accept plaintext tensors not covered by a signed digest`;
const REMOTE = `IN may be an http:// or https:// URL: read with range requests, header verified before any
tensor byte is fetched; CRYPTOTENSORS_HTTP_AUTHORIZATION is sent as its Authorization header.
A URL ending in / or .index.json is a model. --allow-full-download: a server that ignores Range
is downloaded whole (default: refused).`;
const QUIET = `  --quiet                     no progress line (it is only drawn when stderr is a terminal)`;

export const COMMAND_HELP: Record<string, CommandHelp> = {
  "key-server": {
    usage: "cryptotensors key-server --config FILE",
    summary: "run the key-release service (releases data keys under licences and remote policies)",
    details: `Serves POST /v1/release until SIGINT/SIGTERM; prints "key server listening on URL".
FILE is JSON; file names are relative to it (docs/key-release.md):
  {"host": "127.0.0.1", "port": 8700,
   "keys": "master.jwks", "keyProviders": ["pkcs11:…", "kmip://…"],   (at least one)
   "publisherKeys": "publisher-public.jwks", "licenceIssuers": "licence-public.jwks",
   "revocationList": "revoked.txt", "rateLimit": {"requests": 60, "perSeconds": 60},
   "audit": "audit.log"}`,
  },
  licence: {
    usage: `cryptotensors licence issue --signing-key JWKS_FILE --subject NAME --expires DATE [--claims JSON]
    [--model KID_OR_DIGEST]... [--not-before DATE] [--id JTI] [--signing-kid ID]
  cryptotensors licence public-key --signing-key JWKS_FILE [--signing-kid ID]`,
    summary: "issue a licence token (JWT, EdDSA) or print the licence key's public half",
    details: `issue prints a licence on stdout: a JWT signed with the Ed25519 key of JWKS_FILE (e.g. the
sign key of \`cryptotensors keygen\`), carrying sub, exp, iat, jti, the custom claims and, with
--model, the audience (a master-key kid or a header digest sha256:<hex>; without it the licence
fits every model of this issuer). Policies see its claims as input.claims.
  --signing-key JWKS_FILE     the licence key (exactly one Ed25519 private key, or pick with --signing-kid)
  --subject NAME              who the licence is for (sub)
  --expires DATE              expiry, e.g. 2027-01-01 (required)
  --claims JSON               custom claims, e.g. '{"tier":"pro"}'
  --model ID                  audience: a master-key kid or sha256:<hex> header digest (repeatable)
  --not-before DATE           not valid before this time
  --id JTI                    the licence id (what revocation lists name; default a random UUID)
public-key prints {"keys":[publicJwk]}: pin it as the licence issuer (key server, openFile).`,
  },
  keygen: {
    usage:
      "cryptotensors keygen [--alg aes256gcm|aes128gcm|chacha20poly1305] [--enc-kid ID] [--sign-kid ID]\n    [--key-provider PKCS11_URI|KMIP_URI]",
    summary: "print a fresh JWK set (a master key and an Ed25519 signing key) on stdout",
    details: `Prints {"keys": [encKey, signKey]} in the reference's JWK form. Keep it secret.
  --alg ALG                   AEAD of the master key (default aes256gcm)
  --enc-kid ID, --sign-kid ID key ids written into the keys (and later into headers)
  --key-provider URI          create the keys inside the PKCS#11 token (prints the public key), or
                              the master key on the KMIP server`,
  },
  encrypt: {
    usage: `cryptotensors encrypt IN OUT [--keys JWKS_FILE] [--enc-kid ID] [--sign-kid ID] [--alg ALG]
    [--key-provider URI]... [--format-version 1|2] [--chunk-size BYTES] [--tensor NAME]... [--policy POLICY_JSON_FILE] [--quiet]`,
    summary: "encrypt and sign a safetensors file (or a model directory)",
    details: `Writes OUT atomically: a signed header and each selected tensor sealed with its own data key.
${KEYS}
${PROVIDER}
  --enc-kid ID, --sign-kid ID which master / signing key of the set to use
  --alg ALG                   AEAD of a provider-held master key
  --format-version 1|2        1: one AEAD per tensor; 2 (default): chunked
  --chunk-size BYTES          chunk size of version 2 (default 2 MiB)
  --tensor NAME               encrypt only this tensor (repeatable; default all)
  --policy POLICY_JSON_FILE   {"local": REGO, "remote": REGO} embedded in the header
${QUIET}
${MODEL.split("\n")[0]} OUT is then a new directory.`,
  },
  decrypt: {
    usage: `cryptotensors decrypt IN OUT [--keys JWKS_FILE] [--verify-keys PUBLIC_JWKS] [--jku-root DIR]...
    [--key-provider URI]... [--key-server URL --licence FILE] [--tensor NAME]... [OPTIONS]`,
    summary: "write the plain safetensors file (signature and policy checked first)",
    details: `Verifies the header signature and the policy, then writes OUT atomically (user metadata kept).
OUT must be a file path: writing to stdout ("-") is not supported.
${TRUST}
${PROVIDER}
  --allow-plain               accept a plain (unencrypted) IN instead of refusing it
  --key-server URL            data keys released by the publisher's key server (cryptotensors key-server)
  --licence FILE              the licence token (from cryptotensors licence issue) shown to the key server
  --tensor NAME               decrypt only this tensor (repeatable); the policies see exactly these
${UNAUTHENTICATED}
${QUIET}
${MODEL}
${REMOTE}`,
  },
  verify: {
    usage: `cryptotensors verify IN [--keys JWKS_FILE] [--verify-keys PUBLIC_JWKS] [--jku-root DIR]...
    [--key-provider URI]... [--allow-unauthenticated] [--require-bound-shards] [--json] [--data]`,
    summary: "check the signature and the policy; exit 0 only when both hold",
    details: `Exit status 0: signature valid and policy allows; 1: anything else (the reason on stderr).
${TRUST}
${PROVIDER}
${UNAUTHENTICATED}
  --json                      print the result as JSON on stdout
  --data                      also authenticate every tensor with the master key (AEAD tags,
                              signed digests of plaintext tensors); no plaintext is written.
                              Without it only the header is checked (a flipped data byte passes)
${MODEL}
${REMOTE}`,
  },
  inspect: {
    usage: "cryptotensors inspect IN [--json]",
    summary: "list tensors, dtypes, shapes, encryption and key ids (no key needed)",
    details: `Reads only the header; nothing is verified (use verify for that).
  --json                      machine-readable output on stdout
${REMOTE}`,
  },
  rewrap: {
    usage: `cryptotensors rewrap IN OUT [--keys OLD_JWKS] --new-keys NEW_JWKS [--enc-kid ID] [--sign-kid ID]
    [--policy POLICY_JSON_FILE] [--jku-root DIR]... [--verify-keys PUBLIC_JWKS] [--key-provider URI]...
    [--reencrypt [--quiet]]   (OUT may be IN)
cryptotensors rewrap --recover IN [--keys NEW_JWKS] [--verify-keys NEW_PUBLIC_JWKS] [--jku-root DIR]...`,
    summary: "rotate keys: re-wrap the data keys and re-sign, tensor data untouched",
    details: `Re-wraps every data key under the new master key and re-signs with the new signing key.
Rewrap does not revoke: whoever holds the old master key and an old copy can still read it.
  --keys OLD_JWKS             keys that open IN
  --new-keys NEW_JWKS         keys to rotate to
  --enc-kid ID, --sign-kid ID which keys of NEW_JWKS to use
  --policy POLICY_JSON_FILE   replace the embedded policy
${PROVIDER}
  --reencrypt                 fresh data keys and IVs, data re-encrypted: the old master key opens nothing
  --recover                   finish or roll back an interrupted in-place rewrap (its journal
                              must be signed by the new key)`,
  },
  "encrypt-onnx": {
    usage: `cryptotensors encrypt-onnx MODEL.onnx OUT_DIR [--keys JWKS_FILE] [--enc-kid ID] [--sign-kid ID]
    [--format-version 1|2] [--chunk-size BYTES] [--policy POLICY_JSON_FILE] [--quiet]`,
    summary: "encrypt an ONNX model's weights into a CryptoTensors file for onnxruntime",
    details: `Writes OUT_DIR with the graph and one signed CryptoTensors file holding its initializers
(load it with createInferenceSession from "cryptotensors/onnxruntime").
${KEYS}
  --enc-kid ID, --sign-kid ID which master / signing key of the set to use
  --format-version, --chunk-size, --policy   as for encrypt
${QUIET}`,
  },
  "decrypt-onnx": {
    usage: `cryptotensors decrypt-onnx IN_DIR OUT_DIR [--keys JWKS_FILE] [--verify-keys PUBLIC_JWKS]
    [--jku-root DIR]... [--quiet]`,
    summary: "turn an encrypt-onnx directory back into a plain ONNX model",
    details: `Verifies the weights file, then writes OUT_DIR with the plain model.
${TRUST}
${QUIET}`,
  },
};

/** The overview printed by `cryptotensors --help` (and, with status 2, without arguments). */
export function overview(): string {
  const width = Math.max(...Object.keys(COMMAND_HELP).map((name) => name.length));
  const lines = Object.entries(COMMAND_HELP).map(
    ([name, help]) => `  ${name.padEnd(width)}  ${help.summary}`,
  );
  return `usage: cryptotensors COMMAND [ARGS]

commands:
${lines.join("\n")}

Run "cryptotensors COMMAND --help" for a command's options; "cryptotensors --version" for the version.
Exit status: 0 success, 1 failure (the reason on stderr), 2 usage error.`;
}

/** The full help of one command. */
export function commandHelp(name: string): string {
  const help = COMMAND_HELP[name]!;
  return `usage: ${help.usage}\n\n${help.summary}.\n${help.details}`;
}
