// cryptotensors licence issue|public-key: signs licence tokens (JWT, EdDSA) with the publisher's
// licence key, and prints that key's public half to pin in key servers and customer setups.
import { issueLicence, type KeyRing } from "../../index.js";
import { parse, UsageError } from "../args.js";
import { readKeySet } from "../keys-file.js";

/** The one Ed25519 key of the file (or the one named by --signing-kid). */
async function licenceKey(values: Record<string, unknown>, needPrivate: boolean) {
  const file = values["signing-key"] as string | undefined;
  if (file === undefined) throw new UsageError("--signing-key JWKS_FILE is required");
  const ring = (await readKeySet(file)) as KeyRing;
  const kid = values["signing-kid"] as string | undefined;
  const candidates = ring.signers.filter(
    (k) => (kid === undefined || k.kid === kid) && (!needPrivate || k.canSign),
  );
  if (candidates.length !== 1) {
    throw new UsageError(
      `${file} must hold exactly one Ed25519 ${needPrivate ? "private " : ""}key${kid === undefined ? " (or name one with --signing-kid)" : ` with kid ${JSON.stringify(kid)}`}; it holds ${candidates.length}`,
    );
  }
  return candidates[0] as KeyRing["signers"][number];
}

function date(value: unknown, option: string): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value as string);
  if (Number.isNaN(parsed.getTime()))
    throw new UsageError(
      `${option} must be a date or time (e.g. 2027-01-01 or 2027-01-01T12:00:00Z)`,
    );
  return parsed;
}

async function issue(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      "signing-key": { type: "string" },
      "signing-kid": { type: "string" },
      subject: { type: "string" },
      claims: { type: "string" },
      expires: { type: "string" },
      "not-before": { type: "string" },
      model: { type: "string", multiple: true },
      id: { type: "string" },
    },
    [],
  );
  const subject = values.subject as string | undefined;
  if (subject === undefined || subject === "") throw new UsageError("--subject NAME is required");
  const expires = date(values.expires, "--expires");
  if (expires === undefined) throw new UsageError("--expires DATE is required");
  let claims: Record<string, unknown> = {};
  if (values.claims !== undefined) {
    try {
      claims = JSON.parse(values.claims as string) as Record<string, unknown>;
    } catch {
      throw new UsageError('--claims must be a JSON object, e.g. \'{"tier":"pro"}\'');
    }
    if (typeof claims !== "object" || claims === null || Array.isArray(claims))
      throw new UsageError('--claims must be a JSON object, e.g. \'{"tier":"pro"}\'');
  }
  const notBefore = date(values["not-before"], "--not-before");
  const models = values.model as string[] | undefined;
  const token = await issueLicence({
    signingKey: await licenceKey(values, true),
    subject,
    claims,
    expires,
    ...(notBefore === undefined ? {} : { notBefore }),
    ...(models === undefined ? {} : { model: models }),
    ...(values.id === undefined ? {} : { id: values.id as string }),
  }).catch((error: unknown) => {
    if (error instanceof TypeError || error instanceof RangeError)
      throw new UsageError(error.message);
    throw error;
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

async function publicKey(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { "signing-key": { type: "string" }, "signing-kid": { type: "string" } },
    [],
  );
  const key = await licenceKey(values, false);
  const jwk = {
    kty: "okp",
    alg: "ed25519",
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    x: key.publicKey.toString("base64"),
  };
  process.stdout.write(`${JSON.stringify({ keys: [jwk] }, null, 2)}\n`);
  return 0;
}

export async function licence(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "issue") return issue(rest);
  if (sub === "public-key") return publicKey(rest);
  throw new UsageError(
    `licence needs a subcommand: issue or public-key${sub === undefined ? "" : ` (got ${JSON.stringify(sub)})`}`,
  );
}
