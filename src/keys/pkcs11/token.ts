// One PKCS#11 token reached through a module (shared library) loaded with pkcs11js: the module
// is initialised once per process and path, the token is found by the URI's path attributes,
// one session is kept and logged in on first need. Cryptoki failures become typed errors that
// name the CKR code, never a PIN or key byte.
import { createRequire } from "node:module";
import { CryptoTensorsError, NotSupportedError } from "../../errors.js";
import { quoteShort } from "../../crypto/quote.js";
import { describePkcs11Uri, modulePathOf, pinOf, type Pkcs11Uri } from "./uri.js";

/** The subset of pkcs11js this provider uses (typed loosely: the package is optional). */
// biome-ignore lint/suspicious/noExplicitAny: pkcs11js is loaded at run time and may be absent
export type Pkcs11Lib = any;
export type Handle = Buffer;

/** Mechanisms and types pkcs11js does not name (PKCS#11 v3.0 values). */
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
export const CKM_CHACHA20_POLY1305 = 0x4021;
export const CKK_EC_EDWARDS = 0x40;

/** A `call` mapping that means "this code is success here". */
const ALREADY = Symbol("already done");

let pkcs11js: Pkcs11Lib | undefined;
const modules = new Map<string, { lib: Pkcs11Lib; users: number }>();

/** The pkcs11js package, or a NotSupported error saying how to get it. */
export function loadPkcs11js(): Pkcs11Lib {
  if (pkcs11js) return pkcs11js;
  try {
    pkcs11js = createRequire(import.meta.url)("pkcs11js");
  } catch (cause) {
    const error = new NotSupportedError(
      "the PKCS#11 key provider needs the optional dependency pkcs11js, which is not installed: run npm install pkcs11js",
    );
    error.cause = cause;
    throw error;
  }
  return pkcs11js;
}

/**
 * A token named by a PKCS#11 URI. Sessions are opened lazily; `close()` logs out and releases
 * the module when no other token of the process uses it.
 *
 * @example
 * ```ts
 * const token = new Pkcs11Token(parsePkcs11Uri("pkcs11:token=models?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234"));
 * const key = token.findKey("secret", "enc-1");
 * token.close();
 * ```
 */
export class Pkcs11Token {
  readonly uri: Pkcs11Uri;
  readonly label: string;
  #modulePath: string;
  #lib: Pkcs11Lib | undefined;
  #slot: Handle | undefined;
  #session: Handle | undefined;
  #loggedIn = false;

  constructor(uri: Pkcs11Uri) {
    this.uri = uri;
    this.label = describePkcs11Uri(uri);
    this.#modulePath = modulePathOf(uri);
  }

  /** The pkcs11js constants and the session, logged in when `login` is true. */
  session(login: boolean): { p: Pkcs11Lib; session: Handle; c: Pkcs11Lib } {
    const c = loadPkcs11js();
    if (this.#session === undefined) {
      const lib = this.#module(c);
      this.#slot = this.#findSlot(lib);
      this.#session = this.call("C_OpenSession", () =>
        lib.C_OpenSession(this.#slot, c.CKF_SERIAL_SESSION | c.CKF_RW_SESSION),
      );
    }
    if (login && !this.#loggedIn) {
      const pin = pinOf(this.uri);
      if (pin === undefined) {
        throw new CryptoTensorsError(
          "ERR_KEY_PROVIDER",
          `${this.label} needs the user PIN: add pin-source=/path/to/pin-file (or pin-value=) to the URI`,
        );
      }
      // Login state belongs to the application, not the session (PKCS#11 §5.6): another
      // provider of this process on the same token may have logged in already.
      this.call(
        "C_Login",
        () => this.#lib.C_Login(this.#session, c.CKU_USER, pin),
        (ckr) => (ckr === "CKR_USER_ALREADY_LOGGED_IN" ? ALREADY : undefined),
      );
      this.#loggedIn = true;
    }
    return { p: this.#lib, session: this.#session as Handle, c };
  }

  /** Mechanisms of the token's slot. */
  mechanisms(): number[] {
    const { p } = this.session(false);
    return this.call("C_GetMechanismList", () => p.C_GetMechanismList(this.#slot));
  }

  /**
   * The key object of `kind` labelled `label` (and with the URI's id, if any), or undefined.
   * Private objects are only visible after login, so secret and private keys log in first.
   */
  findKey(kind: "secret" | "private" | "public", label: string): Handle | undefined {
    const { p, session, c } = this.session(kind !== "public");
    const template = [
      {
        type: c.CKA_CLASS,
        value:
          kind === "secret"
            ? c.CKO_SECRET_KEY
            : kind === "private"
              ? c.CKO_PRIVATE_KEY
              : c.CKO_PUBLIC_KEY,
      },
      { type: c.CKA_LABEL, value: label },
      ...(this.uri.id === undefined ? [] : [{ type: c.CKA_ID, value: this.uri.id }]),
    ];
    const found = this.call("C_FindObjects", () => {
      p.C_FindObjectsInit(session, template);
      try {
        return p.C_FindObjects(session, 2) as Handle[];
      } finally {
        p.C_FindObjectsFinal(session);
      }
    });
    if (found.length > 1) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        `${this.label} holds several ${kind} keys labelled ${quoteShort(label)}: add id= to the URI to choose one`,
      );
    }
    return found[0];
  }

  /** Attributes of an object, as pkcs11js returns them. */
  attributes(handle: Handle, types: number[]): Array<{ type: number; value: Buffer }> {
    const { p, session } = this.session(false);
    return this.call("C_GetAttributeValue", () =>
      p.C_GetAttributeValue(
        session,
        handle,
        types.map((type) => ({ type })),
      ),
    );
  }

  /**
   * Runs a Cryptoki call; a Cryptoki error becomes `ERR_KEY_PROVIDER` naming the CKR code
   * (`map` may turn some codes into another error, e.g. a failed tag into ERR_DECRYPTION_FAILED).
   */
  call<T>(
    what: string,
    run: () => T,
    map?: (ckr: string) => CryptoTensorsError | typeof ALREADY | undefined,
  ): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof CryptoTensorsError) throw error;
      const ckr = ckrName(error);
      const mapped = map?.(ckr);
      if (mapped === ALREADY) return undefined as T;
      if (mapped) throw mapped;
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        `${this.label}: ${what} failed (${ckr})${hint(ckr)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Closes the session and releases the module. Safe to call twice. */
  close(): void {
    if (this.#session !== undefined) {
      try {
        // No C_Logout: it would log out every session of the process on this token; the login
        // ends with the application's last session (PKCS#11 §5.6).
        this.#lib.C_CloseSession(this.#session);
      } catch {
        // Closing is best effort: the token may already be gone.
      }
      this.#session = undefined;
      this.#loggedIn = false;
    }
    if (this.#lib !== undefined) {
      const entry = modules.get(this.#modulePath);
      if (entry && --entry.users === 0) {
        modules.delete(this.#modulePath);
        try {
          entry.lib.C_Finalize();
        } catch {
          // Nothing useful to do: the process keeps the library mapped either way.
        }
      }
      this.#lib = undefined;
    }
  }

  #module(c: Pkcs11Lib): Pkcs11Lib {
    if (this.#lib) return this.#lib;
    let entry = modules.get(this.#modulePath);
    if (!entry) {
      const lib = new c.PKCS11();
      try {
        lib.load(this.#modulePath);
      } catch (cause) {
        throw new CryptoTensorsError(
          "ERR_KEY_PROVIDER",
          `cannot load the PKCS#11 module ${quoteShort(this.#modulePath)}: check module-path (for SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)`,
          { cause },
        );
      }
      this.call("C_Initialize", () => lib.C_Initialize());
      entry = { lib, users: 0 };
      modules.set(this.#modulePath, entry);
    }
    entry.users++;
    this.#lib = entry.lib;
    return entry.lib;
  }

  #findSlot(lib: Pkcs11Lib): Handle {
    const slots: Handle[] = this.call("C_GetSlotList", () => lib.C_GetSlotList(true));
    const matching = slots.filter((slot, index) => {
      if (this.uri.slotId !== undefined && slotNumber(slot, index) !== this.uri.slotId)
        return false;
      const info = this.call("C_GetTokenInfo", () => lib.C_GetTokenInfo(slot));
      const same = (want: string | undefined, have: string) =>
        want === undefined || want === have.trimEnd();
      return (
        same(this.uri.token, info.label) &&
        same(this.uri.manufacturer, info.manufacturerID) &&
        same(this.uri.model, info.model) &&
        same(this.uri.serial, info.serialNumber)
      );
    });
    if (matching.length === 0) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        `no token matches ${this.label} in module ${quoteShort(this.#modulePath)} (${slots.length} token(s) present)`,
      );
    }
    if (matching.length > 1) {
      throw new CryptoTensorsError(
        "ERR_KEY_PROVIDER",
        `${matching.length} tokens match ${this.label}: add token=, serial= or slot-id= to the URI`,
      );
    }
    return matching[0] as Handle;
  }
}

function slotNumber(slot: Handle, index: number): number {
  // pkcs11js hands slot ids as little-endian CK_ULONG buffers.
  return slot.length >= 4 ? slot.readUInt32LE(0) : index;
}

function ckrName(error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  const match = /CKR_[A-Z_0-9]+/.exec(message);
  return match ? match[0] : error instanceof Error ? error.name : "error";
}

function hint(ckr: string): string {
  switch (ckr) {
    case "CKR_PIN_INCORRECT":
      return ": the PIN was rejected, check pin-source/pin-value";
    case "CKR_PIN_LOCKED":
      return ": the user PIN is locked, the security officer must reset it";
    case "CKR_TOKEN_NOT_PRESENT":
    case "CKR_DEVICE_REMOVED":
      return ": the token is not present";
    default:
      return "";
  }
}
