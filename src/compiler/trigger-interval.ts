/*
 * The trigger loop's interval when `CCAT_TRIGGER_INTERVAL` is not set, in one place: the runtime's
 * loop (src/runtime/trigger-loop.ts) and the compiler's short-cooldown warning (W001) both mean
 * this number. A plain constant without imports, so that the runtime can read it without loading
 * any of the compiler.
 */

/** Seconds between two passes of the trigger loop at most, unless `CCAT_TRIGGER_INTERVAL` says otherwise. */
export const defaultTriggerIntervalSeconds = 30
