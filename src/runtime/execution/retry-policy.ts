import { retryReasons, type GrowableResource, type IrResources, type IrRetryAdjustment, type RetryReason } from "../../compiler/ir.ts"
import { UNSAFE_PATH } from "./confined-path.ts"

/*
 * A step's retry policy (`retries N on REASON, … { on REASON RESOURCE xF … }`), as pure
 * functions of its IR and a run's history: which failures are retried, and what the next attempt
 * asks of the backend. No database, no Effect: the collect and submit loops call these with
 * what they have read.
 *
 * - A failure's reason is the first word of its `failure_reason` (`EXIT_CODE 3`, `TIMEOUT`,
 *   `STAGING_FAILED: …`); one that names no reason (`FAILED`, a job that ended badly without an
 *   exit code) is the program's failure, EXIT_CODE.
 * - A failed attempt is retried while `retryCount < retries`, and only for a reason the step's
 *   `retryOn` names when it names any; never when its detail says asking again cannot help
 *   (`STAGING_FAILED: UNSAFE_PATH: …`, a name in the database that would leave its folder:
 *   confined-path.ts).
 * - Each failure of a reason with an adjustment multiplies that resource once, for every attempt
 *   after it: two OOMs under `on OOM memory x2` ask for 4 times the step's memory. A grown value
 *   is rounded up (cpus to a whole number, memory to a whole MiB, time to a whole second), then
 *   held to the cap (the partition's limits, where known) but never below the step's own base. A
 *   resource the step does not set stays unset: there is nothing to multiply (the compiler warns,
 *   W009). Resources that never grow (partition, gpus) are passed through.
 */

export type { RetryReason }

/** What the next attempt may ask for at most, per resource; null or absent: no limit. */
export interface ResourceCap {
  readonly cpus?: number | null
  readonly memoryBytes?: number | null
  readonly timeSeconds?: number | null
}

/** What `shouldRetry` reads of a step's IR. */
export interface RetryPolicy {
  readonly retries: number
  /** Absent (or undefined): every failure is retried. */
  readonly retryOn?: ReadonlyArray<RetryReason> | undefined
}

const reasonWords: ReadonlySet<string> = new Set(retryReasons)

/** The reason of a `failure_reason`: its first word when that is a reason, else EXIT_CODE. */
export const failureCategory = (failureReason: string): RetryReason => {
  const word = /^\s*([A-Z_]+)(?=$|[\s:])/.exec(failureReason)?.[1]
  return word !== undefined && reasonWords.has(word) ? (word as RetryReason) : "EXIT_CODE"
}

/**
 * Details (the word after a reason's `:`) of failures that the same data gives again, whatever
 * the attempt: they stay under their reason for `retries … on …`, but are not retried.
 */
const permanentDetails: ReadonlySet<string> = new Set([UNSAFE_PATH])

/** Whether `failureReason` is one that asking again cannot change. */
export const isPermanentFailure = (failureReason: string): boolean => {
  const detail = /^\s*[A-Z_]+:\s*([A-Z_]+)(?=$|[\s:])/.exec(failureReason)?.[1]
  return detail !== undefined && permanentDetails.has(detail)
}

/**
 * Whether an attempt that failed with `failureReason` is retried, when the run has been retried
 * `retryCount` times so far.
 */
export const shouldRetry = (step: RetryPolicy, retryCount: number, failureReason: string): boolean =>
  retryCount < step.retries &&
  (step.retryOn === undefined || step.retryOn.includes(failureCategory(failureReason))) &&
  !isPermanentFailure(failureReason)

const MiB = 1024 ** 2

/**
 * Rounds up, forgiving the last bits of a product of decimal factors: `100 × 1.1` is
 * 110.00000000000001 in floating point, and must ask for 110, not 111.
 */
const ceilExact = (x: number): number => Math.ceil(x - Math.abs(x) * 1e-12)

const grow = (resource: GrowableResource, base: number, factor: number, cap: number | null | undefined): number => {
  // Hundreds of failures could grow past any exact number, even past Infinity: stop at the largest.
  const largest = resource === "memory" ? Math.floor(Number.MAX_SAFE_INTEGER / MiB) * MiB : Number.MAX_SAFE_INTEGER
  const grown = base * factor
  const rounded = grown >= largest ? largest : Math.min(largest, resource === "memory" ? ceilExact(grown / MiB) * MiB : ceilExact(grown))
  const limit = cap === null || cap === undefined ? rounded : Math.min(rounded, resource === "cpus" ? Math.floor(cap) : cap)
  return Math.max(base, limit)
}

/**
 * The resources of the next attempt: the step's `base`, each grown by the factors of the
 * adjustments whose reason is in `failureHistory` (the reasons of the run's failed attempts so
 * far, one per failure, in any order), rounded, then held to `cap` (null: uncapped).
 */
export const nextResources = (
  base: IrResources,
  adjust: ReadonlyArray<IrRetryAdjustment> | undefined,
  failureHistory: ReadonlyArray<RetryReason>,
  cap: ResourceCap | null
): IrResources => {
  const factor: Record<GrowableResource, number> = { cpus: 1, memory: 1, time: 1 }
  for (const reason of failureHistory) {
    for (const a of adjust ?? []) if (a.reason === reason) factor[a.resource] *= a.factor
  }
  return {
    ...base,
    cpus: base.cpus === null || factor.cpus === 1 ? base.cpus : grow("cpus", base.cpus, factor.cpus, cap?.cpus),
    memoryBytes:
      base.memoryBytes === null || factor.memory === 1
        ? base.memoryBytes
        : grow("memory", base.memoryBytes, factor.memory, cap?.memoryBytes),
    timeSeconds:
      base.timeSeconds === null || factor.time === 1 ? base.timeSeconds : grow("time", base.timeSeconds, factor.time, cap?.timeSeconds)
  }
}

/** What one attempt asks of the backend: its resources and its `timeout`. */
export interface AttemptLimits {
  readonly resources: IrResources
  readonly timeoutSeconds: number | null
}

/**
 * The limits of a run's next attempt, from its step and the reasons of its failed attempts so
 * far. The step's `timeout`, when set, is what a batch script's time limit says (and what ccat
 * cancels a job at): it grows with `time` as `resources { time }` does, held to the same cap.
 */
export const attemptLimits = (
  step: {
    readonly resources: IrResources
    readonly timeoutSeconds: number | null
    readonly retryAdjust?: ReadonlyArray<IrRetryAdjustment> | undefined
  },
  failureReasons: ReadonlyArray<string>,
  cap: ResourceCap | null
): AttemptLimits => {
  const history = failureReasons.map(failureCategory)
  const resources = nextResources(step.resources, step.retryAdjust, history, cap)
  const timeAdjust = (step.retryAdjust ?? []).filter((a) => a.resource === "time")
  const timeoutSeconds =
    step.timeoutSeconds === null
      ? null
      : nextResources({ ...step.resources, timeSeconds: step.timeoutSeconds }, timeAdjust, history, cap).timeSeconds
  return { resources, timeoutSeconds }
}

const units: ReadonlyArray<readonly [number, string]> = [
  [1024 ** 4, "TiB"],
  [1024 ** 3, "GiB"],
  [1024 ** 2, "MiB"]
]

const sizeWords = (bytes: number): string => {
  for (const [size, unit] of units) if (bytes >= size && bytes % (size / 1024) === 0) return `${Number((bytes / size).toFixed(2))} ${unit}`
  return `${bytes} B`
}

const timeWords = (seconds: number): string =>
  seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`

/** `cpus 4, memory 32 GiB, time 3h, timeout 4h`: what the run's event records of each attempt. */
export const limitsWords = (l: AttemptLimits): string =>
  [
    l.resources.cpus === null ? null : `cpus ${l.resources.cpus}`,
    l.resources.memoryBytes === null ? null : `memory ${sizeWords(l.resources.memoryBytes)}`,
    l.resources.timeSeconds === null ? null : `time ${timeWords(l.resources.timeSeconds)}`,
    l.timeoutSeconds === null ? null : `timeout ${timeWords(l.timeoutSeconds)}`,
    l.resources.partition === null ? null : `partition ${l.resources.partition}`,
    l.resources.gpus === null ? null : `gpus ${l.resources.gpus}`
  ]
    .filter((x): x is string => x !== null)
    .join(", ")
