// PKCS#11 URIs (RFC 7512): `pkcs11:` path attributes separated by ";" name the token and the
// object, query attributes separated by "&" say how to reach it (module, PIN). Values are
// percent-decoded. An attribute this implementation does not know is refused rather than
// ignored: ignoring `slot-id` or `serial` could silently pick another token (fail closed).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CryptoTensorsError } from "../../errors.js";
import { quoteShort } from "../../crypto/quote.js";

/** A parsed PKCS#11 URI. `pinValue`/`pinSource` are never shown by `toString()`. */
export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  slotId?: number;
  /** CKA_LABEL of the key; this provider serves the header kid equal to it. */
  object?: string;
  /** CKA_ID, as bytes. */
  id?: Buffer;
  type?: "secret-key" | "private" | "public";
  modulePath?: string;
  moduleName?: string;
  /** Where the user PIN comes from: a file path (`file:` URI or plain path). */
  pinSource?: string;
  pinValue?: string;
}

const PATH_ATTRS = new Set([
  "token",
  "manufacturer",
  "model",
  "serial",
  "slot-id",
  "object",
  "id",
  "type",
]);
const QUERY_ATTRS = new Set(["module-path", "module-name", "pin-source", "pin-value"]);
/** Module directories searched for `module-name` (Debian's and the usual ones). */
const MODULE_DIRS = ["/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/pkcs11", "/usr/lib/softhsm"];

/**
 * Parses a PKCS#11 URI; a malformed one, an unknown or repeated attribute throws TypeError
 * (it is an argument, not file content).
 *
 * @example
 * ```ts
 * const uri = parsePkcs11Uri("pkcs11:token=models;object=enc-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin");
 * uri.object; // "enc-1"
 * ```
 */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (typeof text !== "string" || !text.toLowerCase().startsWith("pkcs11:"))
    throw new TypeError("a PKCS#11 URI starts with pkcs11: (RFC 7512)");
  const rest = text.slice("pkcs11:".length);
  const queryAt = rest.indexOf("?");
  const pathPart = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const queryPart = queryAt < 0 ? "" : rest.slice(queryAt + 1);
  const uri: Pkcs11Uri = {};
  const seen = new Set<string>();
  for (const [name, value] of pairs(pathPart, ";", PATH_ATTRS, seen)) applyPath(uri, name, value);
  for (const [name, value] of pairs(queryPart, "&", QUERY_ATTRS, seen)) {
    if (name === "module-path") uri.modulePath = value;
    else if (name === "module-name") uri.moduleName = value;
    else if (name === "pin-source") uri.pinSource = value;
    else uri.pinValue = value;
  }
  if (uri.pinSource !== undefined && uri.pinValue !== undefined)
    throw new TypeError("a PKCS#11 URI takes pin-source or pin-value, not both");
  return uri;
}

/** The URI without its PIN attributes: safe for messages and provider names. */
export function describePkcs11Uri(uri: Pkcs11Uri): string {
  const path: string[] = [];
  if (uri.token !== undefined) path.push(`token=${encode(uri.token)}`);
  if (uri.serial !== undefined) path.push(`serial=${encode(uri.serial)}`);
  if (uri.slotId !== undefined) path.push(`slot-id=${uri.slotId}`);
  if (uri.object !== undefined) path.push(`object=${encode(uri.object)}`);
  if (uri.type !== undefined) path.push(`type=${uri.type}`);
  return `pkcs11:${path.join(";")}`;
}

/** The module (shared library) a URI names: module-path, else module-name in the usual directories. */
export function modulePathOf(uri: Pkcs11Uri): string {
  if (uri.modulePath !== undefined) return uri.modulePath;
  if (uri.moduleName !== undefined) {
    if (/[/\\]/.test(uri.moduleName))
      throw new TypeError("module-name is a library name, not a path: use module-path");
    return `${MODULE_DIRS[0]}/${uri.moduleName}.so`;
  }
  throw new TypeError(
    "the PKCS#11 URI names no module: add ?module-path=/path/to/module.so (e.g. /usr/lib/softhsm/libsofthsm2.so)",
  );
}

/** The user PIN: pin-value, or the first line of the pin-source file; undefined when neither. */
export function pinOf(uri: Pkcs11Uri): string | undefined {
  if (uri.pinValue !== undefined) return uri.pinValue;
  if (uri.pinSource === undefined) return undefined;
  const path = uri.pinSource.startsWith("file:") ? fileURLToPath(uri.pinSource) : uri.pinSource;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new CryptoTensorsError(
      "ERR_KEY_PROVIDER",
      `cannot read the PKCS#11 pin-source ${quoteShort(path)} (${(cause as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  return text.split(/\r?\n/, 1)[0] ?? "";
}

function pairs(
  part: string,
  separator: string,
  allowed: ReadonlySet<string>,
  seen: Set<string>,
): Array<[string, string]> {
  if (part === "") return [];
  return part.split(separator).map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new TypeError(`PKCS#11 URI attribute ${quoteShort(item)} has no name=value`);
    const name = item.slice(0, eq).toLowerCase();
    if (!allowed.has(name)) {
      throw new TypeError(
        `PKCS#11 URI attribute ${quoteShort(name)} is not supported here (known: ${[...allowed].join(", ")})`,
      );
    }
    if (seen.has(name)) throw new TypeError(`PKCS#11 URI repeats ${quoteShort(name)}`);
    seen.add(name);
    try {
      return [name, decodeURIComponent(item.slice(eq + 1))];
    } catch {
      throw new TypeError(
        `PKCS#11 URI attribute ${quoteShort(name)} is not valid percent-encoding`,
      );
    }
  });
}

function applyPath(uri: Pkcs11Uri, name: string, value: string): void {
  switch (name) {
    case "token":
      uri.token = value;
      return;
    case "manufacturer":
      uri.manufacturer = value;
      return;
    case "model":
      uri.model = value;
      return;
    case "serial":
      uri.serial = value;
      return;
    case "slot-id":
      if (!/^\d+$/.test(value)) throw new TypeError("slot-id must be a decimal number");
      uri.slotId = Number(value);
      return;
    case "object":
      uri.object = value;
      return;
    case "id":
      uri.id = Buffer.from(value, "latin1");
      return;
    default:
      if (value !== "secret-key" && value !== "private" && value !== "public")
        throw new TypeError("type must be secret-key, private or public for keys");
      uri.type = value;
  }
}

function encode(value: string): string {
  return encodeURIComponent(value);
}
