#!/usr/bin/env node
// The cryptotensors command line: each command is built only on the public API.
import { CryptoTensorsError } from "../index.js";
import { UsageError } from "./args.js";
import { terminalSafe } from "./terminal-text.js";
import { decrypt } from "./commands/decrypt.js";
import { encrypt } from "./commands/encrypt.js";
import { decryptOnnxCommand } from "./commands/decrypt-onnx.js";
import { encryptOnnxCommand } from "./commands/encrypt-onnx.js";
import { inspect } from "./commands/inspect.js";
import { keygen } from "./commands/keygen.js";
import { rewrap } from "./commands/rewrap.js";
import { verify } from "./commands/verify.js";

const USAGE = `usage:
  cryptotensors keygen [--alg aes256gcm|aes128gcm|chacha20poly1305] [--enc-kid ID] [--sign-kid ID]
      [--key-provider PKCS11_URI|KMIP_URI]   (create the keys inside the token / the master key on the KMIP server)
  cryptotensors encrypt IN OUT [--keys JWKS_FILE] [--enc-kid ID] [--sign-kid ID] [--alg ALG]
      [--format-version 1|2] [--chunk-size BYTES] [--tensor NAME]... [--policy POLICY_JSON_FILE] [--quiet]
  cryptotensors decrypt IN OUT [--keys JWKS_FILE] [--verify-keys PINNED_PUBLIC_JWKS] [--jku-root DIR]... [--quiet]
      [--allow-plain] [--allow-unauthenticated]
  cryptotensors verify IN [--keys JWKS_FILE] [--verify-keys PINNED_PUBLIC_JWKS] [--jku-root DIR]...
      [--allow-unauthenticated]
  cryptotensors inspect IN [--json]
  cryptotensors rewrap IN OUT [--keys OLD_JWKS] --new-keys NEW_JWKS [--enc-kid ID] [--sign-kid ID]
      [--policy POLICY_JSON_FILE] [--jku-root DIR]... [--verify-keys PINNED_PUBLIC_JWKS]   (OUT may be IN)
      [--reencrypt [--quiet]]   (fresh data keys and IVs, data re-encrypted: the old master key opens nothing)
  cryptotensors rewrap --recover IN [--keys NEW_JWKS] [--verify-keys NEW_PUBLIC_JWKS] [--jku-root DIR]...
      (finish or roll back an interrupted in-place rewrap; its journal must be signed by the new key)
  cryptotensors encrypt-onnx MODEL.onnx OUT_DIR [--keys JWKS_FILE] [--enc-kid ID] [--sign-kid ID]
      [--format-version 1|2] [--chunk-size BYTES] [--policy POLICY_JSON_FILE] [--quiet]
  cryptotensors decrypt-onnx IN_DIR OUT_DIR [--keys JWKS_FILE] [--verify-keys PINNED_PUBLIC_JWKS] [--jku-root DIR]... [--quiet]
encrypt, decrypt, verify and rewrap take [--key-provider URI]... : pkcs11:token=…;object=…?module-path=…&pin-source=…
(RFC 7512; keys stay in the token, named by --enc-kid/--sign-kid labels) or file:/path/keys.jwks.
IN may be a model directory (shards + model.safetensors.index.json, or model.safetensors): OUT is then a
new directory, written whole or not at all; decrypt, verify and rewrap take [--require-bound-shards].
Without --keys, keys come from the CRYPTOTENSOR_KEYS environment variable.`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  keygen,
  encrypt,
  decrypt,
  verify,
  inspect,
  rewrap,
  "encrypt-onnx": encryptOnnxCommand,
  "decrypt-onnx": decryptOnnxCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`cryptotensors: unknown command ${JSON.stringify(name)}\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`cryptotensors ${name}: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    if (
      error instanceof CryptoTensorsError ||
      error instanceof TypeError ||
      error instanceof RangeError
    ) {
      const code = error instanceof CryptoTensorsError ? `${error.code}: ` : "";
      // Messages quote names from untrusted files: never let them drive the terminal.
      process.stderr.write(`cryptotensors ${name}: ${code}${terminalSafe(error.message)}\n`);
      return 1;
    }
    process.stderr.write(
      `cryptotensors ${name}: unexpected error: ${(error as Error)?.message ?? String(error)}\n`,
    );
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
