/*
 * Every decision the trigger makes about a (step, sub-group) carries one of these codes
 * (docs/design/runtime.md §2.5). Codes that create a run become the run's `reason`; the others say why no
 * run was created, and `ccat plan` and `ccat why` count and explain them.
 */

export const createReasons = [
  "NEW_DATA",
  "CONFIG_CHANGED",
  "SOFTWARE_CHANGED",
  "DEFINITION_CHANGED",
  "UPSTREAM_CHANGED",
  "INPUT_PURGED",
  "MANUAL"
] as const

export const holdReasons = [
  "UP_TO_DATE",
  "IN_FLIGHT",
  "AFTER_IN_FLIGHT",
  "COOLDOWN",
  "WAITING_UPSTREAM",
  "FAILED_FINAL",
  "CANCELLED",
  "FAILED_UPSTREAM",
  "NO_INPUTS"
] as const

export type CreateReason = (typeof createReasons)[number]
export type HoldReason = (typeof holdReasons)[number]
export type ReasonCode = CreateReason | HoldReason

export const isCreateReason = (code: string): code is CreateReason => (createReasons as ReadonlyArray<string>).includes(code)

/**
 * Reasons that keep a trigger request open: the request has not had its full effect until the
 * sub-group can be decided for good. A request closes on the first pass without any of them.
 */
export const unsettledReasons: ReadonlySet<ReasonCode> = new Set(["WAITING_UPSTREAM", "AFTER_IN_FLIGHT", "COOLDOWN"])

/** One line per code, as `ccat plan` and `ccat why` print it. */
export const reasonDescriptions: Readonly<Record<ReasonCode, string>> = {
  NEW_DATA: "new or changed input data",
  CONFIG_CHANGED: "the step's config changed since the last run",
  SOFTWARE_CHANGED: "the software version or image changed in a way the version policy counts",
  DEFINITION_CHANGED: "the command or the version policy changed (config and version did not)",
  UPSTREAM_CHANGED: "upstream steps produced new or different products",
  INPUT_PURGED: "its products were purged and a downstream run needs them: they are made again",
  MANUAL: "requested by `ccat run`",
  UP_TO_DATE: "a completed run has exactly these inputs and this fingerprint",
  IN_FLIGHT: "a run with exactly these inputs is pending or running",
  AFTER_IN_FLIGHT: "inputs changed while a run is in flight; a new run follows when it ends",
  COOLDOWN: "the previous run started less than a cooldown ago",
  WAITING_UPSTREAM: "an upstream run covering this sub-group is still pending or running, or an input it needs was purged and is being made again",
  FAILED_FINAL: "a run with exactly these inputs failed for good; it reopens when its inputs or definition change, or by `ccat run`",
  CANCELLED: "a run with exactly these inputs was cancelled; `ccat run` reopens it",
  FAILED_UPSTREAM: "every upstream run covering this sub-group failed for good",
  NO_INPUTS: "no upstream products fall in this sub-group"
}
