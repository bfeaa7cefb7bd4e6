// cryptotensors keygen: prints a fresh JWK set {"keys":[encKey, signKey]} in the reference's form.
// With --key-provider pkcs11:… the keys are created inside the token instead (sensitive,
// non-extractable) and only the public verification key is printed, as a JWK set to pin; with
// --key-provider kmip://… the master key is created on the KMIP server.
import { generateKeySet, generatePkcs11Keys, KmipKeyProvider } from "../../index.js";
import { parse, UsageError } from "../args.js";

const ALGORITHMS = ["aes256gcm", "aes128gcm", "chacha20poly1305"] as const;

export async function keygen(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      alg: { type: "string" },
      "enc-kid": { type: "string" },
      "sign-kid": { type: "string" },
      "key-provider": { type: "string" },
    },
    [],
  );
  const alg = (values.alg as string | undefined) ?? "aes256gcm";
  if (!(ALGORITHMS as readonly string[]).includes(alg))
    throw new UsageError(`--alg must be one of ${ALGORITHMS.join(", ")}`);
  const provider = values["key-provider"] as string | undefined;
  if (provider?.toLowerCase().startsWith("kmip:")) {
    // A KMIP server keeps the master key only; signing stays with an Ed25519 key elsewhere.
    if (alg !== "aes256gcm")
      throw new UsageError("keygen --key-provider kmip://… creates aes256gcm keys");
    const kid = (values["enc-kid"] as string | undefined) ?? "enc";
    await new KmipKeyProvider(provider).createMasterKey(kid);
    process.stderr.write(
      `created master key ${kid} (aes256gcm) on the KMIP server; it stays there. Sign with an Ed25519 key of your own (keygen without --key-provider, or a pkcs11: token).\n`,
    );
    process.stdout.write(`${JSON.stringify({ kty: "oct", alg: "aes256gcm", kid })}\n`);
    return 0;
  }
  if (provider !== undefined) {
    if (!provider.toLowerCase().startsWith("pkcs11:"))
      throw new UsageError(
        "keygen --key-provider creates keys in a PKCS#11 token (pkcs11:) or on a KMIP server (kmip://)",
      );
    const made = await generatePkcs11Keys(provider, {
      alg,
      ...(values["enc-kid"] === undefined ? {} : { encKid: values["enc-kid"] as string }),
      ...(values["sign-kid"] === undefined ? {} : { signKid: values["sign-kid"] as string }),
    });
    process.stderr.write(
      `created in the token: master key ${made.enc?.kid} (${made.enc?.alg}) and Ed25519 key pair ${made.verify?.kid}; both stay there. The verification key follows (pin it with --verify-keys).\n`,
    );
    process.stdout.write(`${JSON.stringify({ keys: [made.verify] }, null, 2)}\n`);
    return 0;
  }
  const set = generateKeySet({
    alg: alg as (typeof ALGORITHMS)[number],
    ...(values["enc-kid"] === undefined ? {} : { encKid: values["enc-kid"] as string }),
    ...(values["sign-kid"] === undefined ? {} : { signKid: values["sign-kid"] as string }),
  });
  process.stdout.write(`${JSON.stringify(set, null, 2)}\n`);
  return 0;
}
