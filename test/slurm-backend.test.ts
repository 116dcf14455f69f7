import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { BackendCallsLive } from "../src/runtime/backends/backend-calls.ts"
import {
  BackendCalls,
  ExecutionBackend,
  type ExecutionBackendService,
  type JobSpec,
  type JobStatus
} from "../src/runtime/backends/execution-backend.ts"
import { makeSlurmBackend, SlurmBackendLive, type SlurmBackendOptions } from "../src/runtime/backends/slurm-backend.ts"
import { fieldSeparator, parseFoundJobs, sacctFoundJobFields } from "../src/runtime/backends/slurm-parse.ts"

/*
 * The Slurm backend against the real one-node cluster of scripts/slurm-up.sh (partition debug,
 * accounting through slurmdbd). Jobs are tiny (1 CPU, 64 MiB); their run folders go under a
 * temp folder (slurmd runs as root here, so any path works). The TIMEOUT test waits about 70 s.
 */

const clusterAnswers = (): string | null => {
  try {
    const state = execFileSync("sinfo", ["-h", "-p", "debug", "-o", "%T"], { encoding: "utf8", timeout: 20_000 }).trim()
    if (!/idle|mixed|allocated|completing/.test(state)) return `the node of partition debug is '${state || "missing"}'`
    execFileSync("sacct", ["-n", "-X", "-S", "now-1minutes", "-o", "JobID"], { encoding: "utf8", timeout: 20_000 })
    return null
  } catch (e) {
    return (e as Error).message.split("\n")[0] ?? String(e)
  }
}

const scratch = mkdtempSync(join(tmpdir(), "ccat-slurm-backend-"))
const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`
let counter = 0

const makeJob = (argv: ReadonlyArray<string>, over: Partial<JobSpec> = {}, folderName?: string): JobSpec => {
  const n = ++counter
  const runDir = join(scratch, folderName ?? `run-${n}`)
  mkdirSync(runDir, { recursive: true })
  return {
    runId: n,
    attempt: 1,
    jobName: `ccat-test${stamp}-${n}`,
    comment: `ccat installation=test-${stamp} run=${n} attempt=1`,
    argv,
    env: {},
    runDir,
    stdoutPath: join(runDir, "logs", "stdout.txt"),
    stderrPath: join(runDir, "logs", "stderr.txt"),
    resources: { cpus: 1, memoryBytes: 64 * 1024 * 1024, timeSeconds: null, partition: "debug", gpus: null },
    timeoutSeconds: null,
    container: { runtime: "none" },
    ...over
  }
}

/** Poll until every job satisfies `done`, every half second. */
const waitFor = (backend: ExecutionBackendService, ids: ReadonlyArray<string>, done: (s: JobStatus) => boolean, timeoutMs: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const statuses = yield* backend.poll(ids)
      if (ids.every((id) => statuses.get(id) !== undefined && done(statuses.get(id)!))) return statuses
      if (Date.now() > deadline)
        return yield* Effect.dieMessage(`jobs not done in ${timeoutMs} ms: ${JSON.stringify([...statuses.values()])}`)
      yield* Effect.sleep("500 millis")
    }
  })

const ended = (s: JobStatus) => ["COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "CANCELLED"].includes(s.state)

const counts = Effect.flatMap(BackendCalls, (c) => c.snapshot)
const diff = (before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, kind: string) =>
  (after.get(kind) ?? 0) - (before.get(kind) ?? 0)

/** A backend of its own, with its own call counter. */
const standalone = (options: SlurmBackendOptions) => makeSlurmBackend(options).pipe(Effect.provide(BackendCallsLive))

const marker = join(scratch, "pwned")
const hostile = [
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `'; touch ${marker}; echo '`,
  `"$(touch ${marker})"`,
  "a\nb",
  "\\",
  "%j %x %%",
  "#SBATCH --mem=1",
  "hetjob",
  "it's",
  "$HOME"
]

describe("Slurm backend on the local cluster", () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))
  beforeAll(() => {
    const problem = clusterAnswers()
    if (problem !== null) {
      throw new Error(`Slurm does not answer here (${problem}). Start the one-node cluster first: bash scripts/slurm-up.sh`)
    }
  })

  layer(SlurmBackendLive({ partition: "debug" }).pipe(Layer.provideMerge(BackendCallsLive)), {
    excludeTestServices: true,
    timeout: "60 seconds"
  })((it) => {
    it.effect(
      "runs a job to COMPLETED with exit code, times and its output file",
      () =>
        Effect.gen(function* () {
          const backend = yield* ExecutionBackend
          // Holds about 20 MB for 2 s, so that accounting (sampling every second) sees it. (The echo
          // after the sleep keeps bash from exec'ing sleep as its last command and freeing x.)
          const program =
            'echo "hello from $WORKFLOW_OUTPUT_DIR"; echo oops >&2; x=$(head -c 20000000 /dev/zero | tr "\\0" a); sleep 2; echo "${#x} bytes held"'
          const job = makeJob(["bash", "-c", program], { env: { WORKFLOW_OUTPUT_DIR: "/workflow/output" } })
          const id = yield* backend.submit(job)
          expect(id).toMatch(/^\d+$/)
          expect(readFileSync(join(job.runDir, "logs", "job.sbatch"), "utf8")).toContain(`#SBATCH --job-name='${job.jobName}'`)
          const status = (yield* waitFor(backend, [id], ended, 50_000)).get(id)!
          expect(status).toMatchObject({ jobId: id, state: "COMPLETED", exitCode: 0 })
          expect(status.wallSeconds).toBeGreaterThanOrEqual(2)
          expect(status.wallSeconds).toBeLessThan(30)
          expect(status.cpuSeconds).toBeGreaterThan(0)
          expect(status.maxRssBytes).toBeGreaterThan(15 * 1024 * 1024)
          expect(readFileSync(job.stdoutPath, "utf8")).toBe("hello from /workflow/output\n20000000 bytes held\n")
          expect(readFileSync(job.stderrPath, "utf8")).toBe("oops\n")
        }),
      60_000
    )

    it.effect("reports a job that exits 3 as FAILED with exit code 3", () =>
      Effect.gen(function* () {
        const backend = yield* ExecutionBackend
        const id = yield* backend.submit(makeJob(["bash", "-c", "exit 3"]))
        const status = (yield* waitFor(backend, [id], ended, 50_000)).get(id)!
        expect(status).toMatchObject({ state: "FAILED", exitCode: 3 })
      })
    )

    it.effect("hands hostile argv values to the program literally, from a hostile run folder", () =>
      Effect.gen(function* () {
        const backend = yield* ExecutionBackend
        const job = makeJob(["printf", "%s\\n", ...hostile], {}, `run ' # %j hetjob $(touch ${"pwned"})`)
        const id = yield* backend.submit(job)
        const status = (yield* waitFor(backend, [id], ended, 50_000)).get(id)!
        expect(status.state).toBe("COMPLETED")
        expect(readFileSync(job.stdoutPath, "utf8")).toBe(hostile.map((v) => `${v}\n`).join(""))
        expect(existsSync(marker)).toBe(false)
        expect(existsSync(join(scratch, "pwned"))).toBe(false)
      })
    )

    it.effect(
      "finds a job by its name with its user, comment and submission time, in the queue and after it left it; nothing for an unknown name",
      () =>
        Effect.gen(function* () {
          const backend = yield* ExecutionBackend
          const job = makeJob(["true"])
          const before = Date.now()
          const id = yield* backend.submit(job)
          const unknown = `ccat-test${stamp}-never`
          const user = yield* backend.submitter
          expect(user).toBe(execFileSync("id", ["-un"], { encoding: "utf8" }).trim())
          const found = yield* backend.findJobs([job.jobName, unknown])
          expect(found.get(job.jobName)).toMatchObject([{ jobId: id, jobName: job.jobName, user, comment: job.comment }])
          const submittedAt = found.get(job.jobName)![0]!.submittedAt!.getTime()
          // Slurm keeps whole seconds.
          expect(submittedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000)
          expect(submittedAt).toBeLessThanOrEqual(Date.now())
          expect(found.has(unknown)).toBe(false)
          yield* waitFor(backend, [id], ended, 50_000)
          expect((yield* backend.findJobs([job.jobName])).get(job.jobName)).toMatchObject([{ jobId: id, user, comment: job.comment }])
          // Once it leaves the queue (MinJobAge) only accounting knows it: the comment must be there
          // too (AccountingStoreFlags=job_comment), read the way findJobs reads it.
          const accounted = () =>
            parseFoundJobs(
              execFileSync(
                "sacct",
                [
                  "-n",
                  "-P",
                  "-X",
                  "--allusers",
                  `--delimiter=${fieldSeparator}`,
                  `--name=${job.jobName}`,
                  "-o",
                  sacctFoundJobFields,
                  "-S",
                  "now-1hour"
                ],
                {
                  encoding: "utf8",
                  env: { ...process.env, TZ: "UTC" }
                }
              )
            )
          // slurmdbd records the job a moment after it ends.
          for (let i = 0; i < 60 && accounted().length === 0; i++) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 500)))
          expect(accounted()).toMatchObject([{ jobId: id, jobName: job.jobName, user, comment: job.comment }])
        })
    )

    it.scoped("cancels a sleeping job: CANCELLED; cancelling again is fine", () =>
      Effect.gen(function* () {
        const backend = yield* ExecutionBackend
        const id = yield* backend.submit(makeJob(["sleep", "300"]))
        yield* Effect.addFinalizer(() => Effect.sync(() => execFileSync("scancel", [id])))
        yield* waitFor(backend, [id], (s) => s.state === "RUNNING", 30_000)
        yield* backend.cancel(id)
        const status = (yield* waitFor(backend, [id], ended, 30_000)).get(id)!
        expect(status.state).toBe("CANCELLED")
        yield* backend.cancel(id)
      })
    )

    it.effect("refuses a job Slurm refuses (JobRejected with Slurm's message)", () =>
      Effect.gen(function* () {
        const backend = yield* ExecutionBackend
        const badPartition = yield* Effect.either(
          backend.submit(
            makeJob(["true"], {
              resources: { cpus: 1, memoryBytes: 64 << 20, timeSeconds: null, partition: "nosuchpartition", gpus: null }
            })
          )
        )
        expect(Either.isLeft(badPartition) && badPartition.left._tag === "JobRejected" && badPartition.left.reason).toMatch(
          /invalid partition/i
        )
        const tooBig = yield* Effect.either(
          backend.submit(
            makeJob(["true"], { resources: { cpus: 1, memoryBytes: 2 ** 50, timeSeconds: null, partition: "debug", gpus: null } })
          )
        )
        expect(Either.isLeft(tooBig) && tooBig.left._tag === "JobRejected" && tooBig.left.reason).toMatch(
          /memory specification|node configuration/i
        )
        const tooManyCpus = yield* Effect.either(
          backend.submit(
            makeJob(["true"], { resources: { cpus: 512, memoryBytes: 64 << 20, timeSeconds: null, partition: "debug", gpus: null } })
          )
        )
        expect(Either.isLeft(tooManyCpus) && tooManyCpus.left._tag).toBe("JobRejected")
        const gpus = yield* Effect.either(
          backend.submit(
            makeJob(["true"], { resources: { cpus: 1, memoryBytes: 64 << 20, timeSeconds: null, partition: "debug", gpus: 1 } })
          )
        )
        expect(Either.isLeft(gpus) && gpus.left._tag).toBe("JobRejected")
      })
    )

    it.effect(
      "polls 50 jobs with exactly one squeue and at most one sacct per poll",
      () =>
        Effect.gen(function* () {
          const backend = yield* ExecutionBackend
          const ids: Array<string> = []
          for (let i = 0; i < 50; i++)
            ids.push(
              yield* backend.submit(
                makeJob(["true"], { resources: { cpus: 1, memoryBytes: 16 << 20, timeSeconds: null, partition: "debug", gpus: null } })
              )
            )
          let polls = 0
          for (;;) {
            const before = yield* counts
            const statuses = yield* backend.poll(ids)
            const after = yield* counts
            polls++
            expect(diff(before, after, "squeue")).toBe(1)
            expect(diff(before, after, "sacct")).toBeLessThanOrEqual(1)
            expect(diff(before, after, "sbatch") + diff(before, after, "scancel")).toBe(0)
            if (ids.every((id) => statuses.get(id) !== undefined && ended(statuses.get(id)!))) {
              expect(ids.map((id) => statuses.get(id)!.state)).toEqual(ids.map(() => "COMPLETED"))
              expect(ids.map((id) => statuses.get(id)!.exitCode)).toEqual(ids.map(() => 0))
              // Finished jobs come from sacct: one call for all of them.
              expect(diff(before, after, "sacct")).toBe(1)
              break
            }
            yield* Effect.sleep("1 second")
          }
          expect(polls).toBeGreaterThanOrEqual(1)
          // An empty poll asks nothing.
          const before = yield* counts
          expect((yield* backend.poll([])).size).toBe(0)
          expect(diff(before, yield* counts, "squeue")).toBe(0)
        }),
      150_000
    )

    it.scoped(
      "ends a job past its time limit as TIMEOUT (takes about 70 s)",
      () =>
        Effect.gen(function* () {
          const backend = yield* ExecutionBackend
          const id = yield* backend.submit(makeJob(["sleep", "300"], { timeoutSeconds: 60 }))
          yield* Effect.addFinalizer(() => Effect.sync(() => execFileSync("scancel", [id])))
          const status = (yield* waitFor(backend, [id], ended, 150_000)).get(id)!
          expect(status.state).toBe("TIMEOUT")
          expect(status.wallSeconds).toBeGreaterThanOrEqual(60)
        }),
      170_000
    )
  })

  layer(BackendCallsLive, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect(
      "caps queued jobs: capacity counts down to 0, then 'queue full'",
      () => {
        const submitted: Array<string> = []
        return Effect.gen(function* () {
          const backend = yield* standalone({ partition: "debug", maxQueued: 2 })
          // Jobs that each want every CPU of the node: one runs, the others wait.
          const cpus = Number(execFileSync("sinfo", ["-h", "-n", "localhost", "-o", "%c"], { encoding: "utf8" }).trim())
          const big = () =>
            makeJob(["sleep", "120"], { resources: { cpus, memoryBytes: 16 << 20, timeSeconds: null, partition: "debug", gpus: null } })
          expect(yield* backend.capacity).toBe(2)
          const first = yield* backend.submit(big())
          submitted.push(first)
          // Waits for the whole node: longer when other test files' jobs are still on it.
          yield* waitFor(backend, [first], (s) => s.state === "RUNNING", 150_000)
          expect(yield* backend.capacity).toBe(2)
          submitted.push(yield* backend.submit(big()))
          expect(yield* backend.capacity).toBe(1)
          submitted.push(yield* backend.submit(big()))
          expect(yield* backend.capacity).toBe(0)
          const statuses = yield* backend.poll(submitted)
          expect(submitted.map((id) => statuses.get(id)?.state)).toEqual(["RUNNING", "QUEUED", "QUEUED"])
          const fourth = yield* Effect.either(backend.submit(makeJob(["true"])))
          expect(Either.isLeft(fourth) && fourth.left._tag === "BackendUnavailable" && fourth.left.reason).toMatch(
            /queue full: 2 jobs queued \(cap 2\)/
          )
          for (const id of submitted) yield* backend.cancel(id)
          yield* waitFor(backend, submitted, ended, 30_000)
          expect(yield* backend.capacity).toBe(2)
          expect(yield* (yield* standalone({})).capacity).toBeNull()
        }).pipe(
          // Never leave a node-filling job behind for the next test.
          Effect.ensuring(Effect.sync(() => submitted.length > 0 && execFileSync("scancel", submitted)))
        )
      },
      200_000
    )

    it.effect("limits the submit rate (token bucket)", () =>
      Effect.gen(function* () {
        const backend = yield* standalone({ partition: "debug", submitRate: 2, maxRateWaitMs: 0 })
        const a = yield* backend.submit(makeJob(["true"]))
        const b = yield* backend.submit(makeJob(["true"]))
        const c = yield* Effect.either(backend.submit(makeJob(["true"])))
        expect(Either.isLeft(c) && c.left._tag === "BackendUnavailable" && c.left.reason).toMatch(/rate limit/)
        yield* waitFor(backend, [a, b], ended, 50_000)
      })
    )

    it.effect("a missing or silent Slurm is BackendUnavailable, never a failed job", () =>
      Effect.gen(function* () {
        const missing = yield* standalone({ commandPrefix: ["/nonexistent/slurm-wrapper"] })
        const tagOf = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
          Effect.map(Effect.flip(effect), (e) => e._tag)
        expect(yield* tagOf(missing.poll(["1"]))).toBe("BackendUnavailable")
        expect(yield* tagOf(missing.submit(makeJob(["true"])))).toBe("BackendUnavailable")
        expect(yield* tagOf(missing.findJobs(["ccat-1"]))).toBe("BackendUnavailable")
        expect(yield* tagOf(missing.cancel("1"))).toBe("BackendUnavailable")

        const silent = yield* standalone({ commandPrefix: ["bash", "-c", "sleep 5", "slurm"], commandTimeoutMs: 300 })
        const e = yield* Effect.either(silent.poll(["1"]))
        expect(Either.isLeft(e) && e.left._tag === "BackendUnavailable" && e.left.reason).toMatch(/did not answer/)
        // A controller that answers "Unable to contact slurm controller" (exit 1).
        const down = yield* standalone({
          commandPrefix: [
            "bash",
            "-c",
            "echo 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; exit 1",
            "slurm"
          ]
        })
        const d = yield* Effect.either(down.poll(["1"]))
        expect(Either.isLeft(d) && d.left._tag === "BackendUnavailable" && d.left.reason).toMatch(/Unable to contact/)
        const s = yield* Effect.either(down.submit(makeJob(["true"])))
        expect(Either.isLeft(s) && s.left._tag).toBe("BackendUnavailable")
      })
    )

    it.effect("without slurmdbd, reads finished jobs from the jobcomp file (sacct -c), else from scontrol", () =>
      Effect.gen(function* () {
        const real = yield* standalone({ partition: "debug" })
        const okJob = makeJob(["true"])
        const ok = yield* real.submit(okJob)
        const bad = yield* real.submit(makeJob(["bash", "-c", "exit 5"]))
        yield* waitFor(real, [ok, bad], ended, 50_000)
        // Wrappers that make sacct answer like a cluster without accounting storage.
        const noDbd =
          'if [ "$1" = sacct ] && [ "$2" != -c ]; then echo "sacct: error: Slurm accounting storage is disabled" >&2; exit 1; fi; exec "$@"'
        const noAccounting =
          'if [ "$1" = sacct ]; then echo "sacct: error: Slurm accounting storage is disabled" >&2; exit 1; fi; exec "$@"'
        for (const [wrapper, kinds] of [
          [noDbd, ["sacct", "sacct"]],
          [noAccounting, ["sacct", "sacct", "scontrol"]]
        ] as const) {
          const backend = yield* makeSlurmBackend({ commandPrefix: ["bash", "-c", wrapper, "wrap"] })
          const start = yield* counts
          const first = yield* backend.poll([ok, bad, "999999994"])
          expect(first.get(ok)).toMatchObject({ state: "COMPLETED", exitCode: 0 })
          expect(first.get(bad)).toMatchObject({ state: "FAILED", exitCode: 5 })
          expect(first.has("999999994")).toBe(false)
          const calls = yield* counts
          expect(["sacct", "scontrol"].flatMap((k) => Array<string>(diff(start, calls, k)).fill(k))).toEqual(kinds)
          // Later polls go straight to what works: one call.
          yield* backend.poll([ok, bad])
          const again = yield* counts
          expect(diff(calls, again, "sacct") + diff(calls, again, "scontrol")).toBe(1)
        }
        // A lookup by name that meets the switch to the jobcomp file asks the file at once: a
        // job the controller no longer shows (hidden from squeue here: fault injected) is found,
        // never reported absent (which would submit it a second time).
        const forgetful = 'if [ "$1" = squeue ]; then exit 0; fi; ' + noDbd
        const lookup = yield* makeSlurmBackend({ commandPrefix: ["bash", "-c", forgetful, "wrap"] })
        const found = yield* lookup.findJobs([okJob.jobName])
        expect(found.get(okJob.jobName)).toMatchObject([{ jobId: ok, jobName: okJob.jobName, user: yield* real.submitter }])
      }).pipe(Effect.provide(BackendCallsLive))
    )

    it.effect("polls ids Slurm does not know as absent, without failing", () =>
      Effect.gen(function* () {
        const backend = yield* standalone({})
        const statuses = yield* backend.poll(["999999991", "999999992"])
        expect(statuses.size).toBe(0)
        expect((yield* backend.poll(["999999993"])).size).toBe(0)
      })
    )
  })
})
