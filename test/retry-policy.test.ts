import { describe, expect, it } from "vitest"
import { compileSources } from "../src/compiler/compile.ts"
import { retryReasons, type IrResources, type IrRetryAdjustment, type RetryReason } from "../src/compiler/ir.ts"
import { failureCategory, nextResources, shouldRetry, type ResourceCap } from "../src/runtime/execution/retry-policy.ts"

/*
 * The retry policy of a step as pure functions (src/runtime/execution/retry-policy.ts): the reason
 * of a failure_reason, whether an attempt is retried, and the resources of the next attempt.
 */

const MiB = 1024 ** 2
const GiB = 1024 ** 3

describe("failureCategory", () => {
  const cases: ReadonlyArray<readonly [string, RetryReason]> = [
    ["EXIT_CODE 3", "EXIT_CODE"],
    ["EXIT_CODE 137", "EXIT_CODE"],
    ["TIMEOUT", "TIMEOUT"],
    ["OOM", "OOM"],
    ["NODE_FAIL", "NODE_FAIL"],
    ["LOST", "LOST"],
    ["CANCELLED_BY_BACKEND", "CANCELLED_BY_BACKEND"],
    ["STAGING_FAILED: ENOENT: no such file or directory, open '/data/x.fits'", "STAGING_FAILED"],
    ["SUBMIT_REJECTED: sbatch: error: invalid partition specified: gpu", "SUBMIT_REJECTED"],
    ["COLLECT_FAILED: science/a.fits links outside the run's folder (to /etc/passwd)", "COLLECT_FAILED"],
    ["INPUT_MODIFIED: input/pkg/raw.fits changed (size 10 → 12)", "INPUT_MODIFIED"],
    ['NO_OUTPUTS: science "*.fits": found 0 files, at least 1 required', "NO_OUTPUTS"],
    // A job that failed without an exit code, and anything else the runtime might write: the program's failure.
    ["FAILED", "EXIT_CODE"],
    ["", "EXIT_CODE"],
    ["OOMKILLED", "EXIT_CODE"],
    ["TIMEOUTS", "EXIT_CODE"],
    ["oom", "EXIT_CODE"],
    ["  TIMEOUT", "TIMEOUT"]
  ]
  it.each(cases)("%s → %s", (failureReason, reason) => {
    expect(failureCategory(failureReason)).toBe(reason)
  })

  it("knows every reason the language names", () => {
    for (const reason of retryReasons) expect(failureCategory(`${reason}: detail`)).toBe(reason)
  })
})

describe("shouldRetry", () => {
  const cases: ReadonlyArray<readonly [string, { retries: number; retryOn?: ReadonlyArray<RetryReason> }, number, string, boolean]> = [
    ["no retries", { retries: 0 }, 0, "EXIT_CODE 1", false],
    ["any failure, first retry", { retries: 3 }, 0, "EXIT_CODE 1", true],
    ["any failure, last retry", { retries: 3 }, 2, "STAGING_FAILED: disk", true],
    ["any failure, retries used up", { retries: 3 }, 3, "TIMEOUT", false],
    ["beyond the count (a manual retry added one)", { retries: 3 }, 4, "TIMEOUT", false],
    ["a listed reason", { retries: 3, retryOn: ["TIMEOUT", "OOM", "NODE_FAIL"] }, 0, "OOM", true],
    ["a listed reason with detail", { retries: 2, retryOn: ["NO_OUTPUTS"] }, 1, "NO_OUTPUTS: found 0 files", true],
    ["an unlisted reason fails at once", { retries: 3, retryOn: ["TIMEOUT", "OOM"] }, 0, "EXIT_CODE 2", false],
    ["an unknown failure counts as EXIT_CODE", { retries: 3, retryOn: ["EXIT_CODE"] }, 0, "FAILED", true],
    ["a listed reason, retries used up", { retries: 1, retryOn: ["OOM"] }, 1, "OOM", false],
    ["an empty list retries nothing", { retries: 3, retryOn: [] }, 0, "OOM", false]
  ]
  it.each(cases)("%s", (_, step, retryCount, failureReason, expected) => {
    expect(shouldRetry(step, retryCount, failureReason)).toBe(expected)
  })
})

describe("nextResources", () => {
  const base: IrResources = { cpus: 4, memoryBytes: 16 * GiB, timeSeconds: 2 * 3600, partition: "batch", gpus: 1 }
  const unset: IrResources = { cpus: null, memoryBytes: null, timeSeconds: null, partition: null, gpus: null }
  const adjust: ReadonlyArray<IrRetryAdjustment> = [
    { reason: "TIMEOUT", resource: "time", factor: 1.5 },
    { reason: "OOM", resource: "cpus", factor: 1.5 },
    { reason: "OOM", resource: "memory", factor: 2 }
  ]
  const cases: ReadonlyArray<
    readonly [
      string,
      IrResources,
      ReadonlyArray<IrRetryAdjustment> | undefined,
      ReadonlyArray<RetryReason>,
      ResourceCap | null,
      Partial<IrResources>
    ]
  > = [
    ["no failure yet: the base", base, adjust, [], null, {}],
    ["no adjustments: the base", base, undefined, ["OOM", "OOM"], null, {}],
    ["a failure without an adjustment changes nothing", base, adjust, ["EXIT_CODE", "NODE_FAIL"], null, {}],
    ["one OOM doubles the memory and grows the cpus by half", base, adjust, ["OOM"], null, { memoryBytes: 32 * GiB, cpus: 6 }],
    ["two OOMs: x4 memory, x2.25 cpus rounded up", base, adjust, ["OOM", "OOM"], null, { memoryBytes: 64 * GiB, cpus: 9 }],
    [
      "an OOM and a TIMEOUT grow each their own",
      base,
      adjust,
      ["TIMEOUT", "OOM"],
      null,
      { memoryBytes: 32 * GiB, cpus: 6, timeSeconds: 3 * 3600 }
    ],
    ["two TIMEOUTs: x2.25 time", base, adjust, ["TIMEOUT", "TIMEOUT"], null, { timeSeconds: 16_200 }],
    [
      "the order of failures does not matter",
      base,
      adjust,
      ["OOM", "TIMEOUT"],
      null,
      { memoryBytes: 32 * GiB, cpus: 6, timeSeconds: 3 * 3600 }
    ],
    // x8 memory is 128GiB, x3.375 cpus 13.5 → 14: both above the partition's limits.
    [
      "capped by the partition",
      base,
      adjust,
      ["OOM", "OOM", "OOM"],
      { memoryBytes: 100 * GiB, cpus: 12, timeSeconds: null },
      { memoryBytes: 100 * GiB, cpus: 12 }
    ],
    [
      "a cap above the grown value changes nothing",
      base,
      adjust,
      ["OOM"],
      { memoryBytes: 1024 * GiB, cpus: 128, timeSeconds: 86_400 },
      { memoryBytes: 32 * GiB, cpus: 6 }
    ],
    ["a cap of null or absent is no cap", base, adjust, ["TIMEOUT"], { timeSeconds: null }, { timeSeconds: 3 * 3600 }],
    ["a cap below the base never lowers it", base, adjust, ["OOM"], { memoryBytes: 8 * GiB, cpus: 2 }, {}],
    ["a fractional cpu cap is a whole number of cpus", base, adjust, ["OOM", "OOM"], { cpus: 7.5 }, { memoryBytes: 64 * GiB, cpus: 7 }],
    ["cpus round up", { ...base, cpus: 3 }, adjust, ["OOM"], null, { cpus: 5, memoryBytes: 32 * GiB }],
    [
      "memory rounds up to a whole MiB",
      { ...base, memoryBytes: 1000 * 1000 * 1000 },
      [{ reason: "OOM", resource: "memory", factor: 1.3 }],
      ["OOM"],
      null,
      { memoryBytes: 1240 * MiB }
    ],
    ["time rounds up to a whole second", { ...base, timeSeconds: 61 }, adjust, ["TIMEOUT"], null, { timeSeconds: 92 }],
    [
      "a decimal factor's last bits do not round up a whole result",
      { ...base, cpus: 100 },
      [{ reason: "OOM", resource: "cpus", factor: 1.1 }],
      ["OOM"],
      null,
      { cpus: 110 }
    ],
    [
      "x1.1 three times",
      { ...base, timeSeconds: 1000 },
      [{ reason: "TIMEOUT", resource: "time", factor: 1.1 }],
      ["TIMEOUT", "TIMEOUT", "TIMEOUT"],
      null,
      { timeSeconds: 1331 }
    ],
    ["an unset resource has nothing to multiply", unset, adjust, ["OOM", "TIMEOUT"], { cpus: 8, memoryBytes: GiB, timeSeconds: 60 }, {}],
    [
      "a huge history stays a finite whole number",
      base,
      adjust,
      Array.from({ length: 400 }, () => "OOM" as const),
      null,
      { cpus: Number.MAX_SAFE_INTEGER, memoryBytes: Math.floor(Number.MAX_SAFE_INTEGER / MiB) * MiB }
    ]
  ]
  it.each(cases)("%s", (_, resources, adjustments, history, cap, changed) => {
    const next = nextResources(resources, adjustments, history, cap)
    expect(next).toEqual({ ...resources, ...changed })
    // What never grows is passed through; what grows stays a whole number.
    expect([next.partition, next.gpus]).toEqual([resources.partition, resources.gpus])
    if (next.cpus !== null) expect(Number.isInteger(next.cpus)).toBe(true)
    if (next.timeSeconds !== null && next.timeSeconds !== resources.timeSeconds) expect(Number.isInteger(next.timeSeconds)).toBe(true)
  })

  it("reads a compiled step's IR as it is", () => {
    const text = `location here { backend local }
software tool {
  image "docker://example.org/tool:{version}"
  versions "1.0.0"
  command "tool"
}
grouping archived { where RawDataPackage.state == "ARCHIVED" }
pipeline reduce {
  data archived
  location here
  trigger manual
  step calibrate {
    run tool ^1.0
    group_by executed_obs_unit
    resources { cpus 4  memory 16GiB  time 2h }
    retries 3 on TIMEOUT, OOM {
      on OOM memory x2
      on TIMEOUT time x1.5
    }
  }
}
`
    const step = compileSources([{ path: "a.ccat", text }]).ir!.pipelines[0]!.steps[0]!
    expect(shouldRetry(step, 0, "OOM")).toBe(true)
    expect(shouldRetry(step, 0, "EXIT_CODE 1")).toBe(false)
    expect(shouldRetry(step, 3, "TIMEOUT")).toBe(false)
    const history = ["OOM", "TIMEOUT", "OOM"].map(failureCategory)
    expect(nextResources(step.resources, step.retryAdjust, history, { memoryBytes: 48 * GiB })).toEqual({
      cpus: 4,
      memoryBytes: 48 * GiB,
      timeSeconds: 3 * 3600,
      partition: null,
      gpus: null
    })
  })
})
