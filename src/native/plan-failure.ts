// What a failed plan leaves to its caller: no partial plaintext in any decrypt destination, and
// one error that says which item failed (or that a destination was transferred meanwhile).
import { CryptoTensorsError } from "../errors.js";
import type { PlanItem } from "./backend.js";
import { labelled } from "./plan-table.js";
import { destinationDetached, isDetached, wipeDestination } from "./views.js";

/**
 * Zeroes every decrypt item's destination that is still attached.
 *
 * @example
 * ```ts
 * wipeDecryptDestinations(items);
 * ```
 */
export function wipeDecryptDestinations(items: readonly PlanItem[]): void {
  for (const item of items)
    if (item.kind === "decrypt") wipeDestination(item.dest, item.request.length);
}

/**
 * The error a plan fed by a batch source rejects with, after wiping its decrypt destinations:
 * ERR_DESTINATION_DETACHED when a destination was transferred meanwhile (bytes arriving for it
 * fail to copy, whatever error that raised), else `error` labelled with the failing item's label.
 *
 * @example
 * ```ts
 * throw planFailure(items, error, items[failedIndex]?.label);
 * ```
 */
export function planFailure(
  items: readonly PlanItem[],
  error: unknown,
  label: string | undefined,
): unknown {
  wipeDecryptDestinations(items);
  const lengthOf = (item: PlanItem) => (item.kind === "read" ? item.length : item.request.length);
  if (items.some((item) => isDetached(item.dest, lengthOf(item)))) return destinationDetached();
  return error instanceof CryptoTensorsError ? labelled(error, label) : error;
}
