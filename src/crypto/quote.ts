// Quoting of non-secret names (algorithm names, tensor names, kids) for error messages.

/**
 * JSON-quotes a short, non-secret string for an error message; long input is cut so that a
 * hostile multi-megabyte name cannot blow up the message. Never pass key material.
 *
 * @example
 * ```ts
 * quoteShort("weight"); // "\"weight\""
 * ```
 */
export function quoteShort(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
