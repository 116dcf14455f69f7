import { Clock, Effect, Either, Layer, Ref } from "effect"
import { execFile } from "node:child_process"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import {
  BackendCalls,
  type CancelOutcome,
  BackendUnavailable,
  ExecutionBackend,
  type ExecutionBackendService,
  finishedStates,
  type FoundJob,
  JobRejected,
  type JobSpec,
  type JobStatus,
  type ResourceLimits
} from "./execution-backend.ts"
import { parseSinfoPartitions, type SlurmPartition, sinfoArguments } from "./slurm-partitions.ts"
import {
  isAccountingDisabledMessage,
  isAlreadyFinishedMessage,
  isInvalidJobIdMessage,
  isJobId,
  isListableJobName,
  isNotContactedMessage,
  isSubmitLimitMessage,
  isUnavailableMessage,
  type NamedJob,
  fieldSeparator,
  parseFoundJobs,
  parseNamedJobs,
  parseSacctStatuses,
  parseSbatchJobId,
  parseScontrolJobs,
  parseSqueueStates,
  sacctFoundJobFields,
  slurmErrorText,
  squeueFoundJobFormat,
  type SqueueState
} from "./slurm-parse.ts"
import { renderBatchScript, shellQuote } from "./slurm-script.ts"
import { slurmCommandEnvironment } from "./slurm-environment.ts"

/*
 * The Slurm backend (docs/design/runtime.md §4.4). Every Slurm command runs through execFile (never a
 * shell) with a timeout, and is counted in BackendCalls by kind (sbatch, squeue, sacct, scancel,
 * scontrol). A poll is one squeue for all ids plus, for those that left the queue or ended, one
 * sacct; never a call per job.
 *
 * Errors: Slurm that cannot be asked (controller or slurmdbd down, missing command, timeout) is
 * BackendUnavailable, and the caller retries later; sbatch refusing a job is JobRejected with
 * Slurm's message. After a BackendUnavailable from submit the job may still have been accepted
 * (sbatch timed out after the controller took it): ask findJobs before submitting again.
 */

export interface SlurmBackendOptions {
  /** Partition for steps that name none (else Slurm's default partition). */
  readonly partition?: string | undefined
  /** `--account` for every job. */
  readonly account?: string | undefined
  /** `--qos` for every job. */
  readonly qos?: string | undefined
  /** At most this many of our jobs (names starting with jobNamePrefix) pending; more → BackendUnavailable("queue full"). */
  readonly maxQueued?: number | undefined
  /** Submissions per minute (token bucket, burst = the same number). */
  readonly submitRate?: number | undefined
  /** How long a submit may wait for a token before giving up with BackendUnavailable (default 2000 ms). */
  readonly maxRateWaitMs?: number | undefined
  /** Put before every command, e.g. `["sudo", "-u", "ccat"]` or `["ssh", "login1"]`. */
  readonly commandPrefix?: ReadonlyArray<string> | undefined
  /** The prefix hands the command to a remote shell (ssh): every argument after it is then single-quoted. */
  readonly remoteShell?: boolean | undefined
  /** Per command (default 30 s: squeue and sbatch retry for about 18 s before giving up on a dead controller). */
  readonly commandTimeoutMs?: number | undefined
  /** The Apptainer program in batch scripts (default `apptainer`). */
  readonly apptainer?: string | undefined
  /** Names of this system's jobs (default `ccat-`), for counting queued jobs. */
  readonly jobNamePrefix?: string | undefined
  /** How long to wait for accounting to record a job squeue already shows as ended (default 30 s). */
  readonly accountingLagMs?: number | undefined
  /** Ids or names per squeue/sacct call (default 1000); longer lists are split to keep argv short. */
  readonly maxIdsPerCall?: number | undefined
}

export interface CommandResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

const BACKEND = "slurm"
const unavailable = (reason: string) => new BackendUnavailable({ backend: BACKEND, reason })


/** Run one Slurm command; a non-zero exit is returned, only "could not run it" fails. */
const runCommand = (options: SlurmBackendOptions, command: string, args: ReadonlyArray<string>): Effect.Effect<CommandResult, BackendUnavailable> => {
  const prefix = options.commandPrefix ?? []
  const full = options.remoteShell ? [command, ...args].map(shellQuote) : [command, ...args]
  const argv = [...prefix, ...full]
  const timeout = options.commandTimeoutMs ?? 30_000
  return Effect.async<CommandResult, BackendUnavailable>((resume, signal) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout, killSignal: "SIGKILL", maxBuffer: 256 * 1024 * 1024, env: slurmCommandEnvironment(), signal, encoding: "utf8", windowsHide: true },
      (error, stdout, stderr) => {
        if (error === null) return resume(Effect.succeed({ exitCode: 0, stdout, stderr }))
        const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown }
        if (typeof e.code === "number") return resume(Effect.succeed({ exitCode: e.code, stdout, stderr }))
        if (e.code === "ENOENT") return resume(Effect.fail(unavailable(`${argv[0]} not found (is Slurm installed here?)`)))
        if (e.killed || e.signal) return resume(Effect.fail(unavailable(`${command} did not answer within ${timeout} ms`)))
        if (e.code === "ABORT_ERR") return resume(Effect.fail(unavailable(`${command} interrupted`)))
        return resume(Effect.fail(unavailable(`${command}: ${e.message}`)))
      }
    )
  })
}

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Where finished jobs' details come from: slurmdbd (sacct), the jobcomp file (sacct -c), or only the controller (scontrol). */
type AccountingMode = "slurmdbd" | "jobcomp" | "controller"

export const makeSlurmBackend = (options: SlurmBackendOptions = {}): Effect.Effect<ExecutionBackendService, never, BackendCalls> =>
  Effect.gen(function* () {
    const calls = yield* BackendCalls
    const perCall = Math.max(1, options.maxIdsPerCall ?? 1000)
    const namePrefix = options.jobNamePrefix ?? "ccat-"

    const slurm = (kind: string, args: ReadonlyArray<string>) => Effect.zipRight(calls.count(kind), runCommand(options, kind, args))

    /** A non-zero exit as BackendUnavailable: Slurm could not give an answer. */
    const failedCall = (kind: string, r: CommandResult) => unavailable(`${kind} exited ${r.exitCode}: ${slurmErrorText(r.stderr, r.stdout)}`)

    // ------------------------------------------------------------ admission: rate and queue cap
    const rate = options.submitRate !== undefined && options.submitRate > 0 ? options.submitRate : null
    const bucket = yield* Ref.make({ tokens: rate ?? 0, at: yield* Clock.currentTimeMillis })
    const maxRateWait = options.maxRateWaitMs ?? 2000

    /** Take a token, waiting up to maxRateWaitMs for one. */
    const takeToken: Effect.Effect<void, BackendUnavailable> =
      rate === null
        ? Effect.void
        : Effect.gen(function* () {
            const perMs = rate / 60_000
            const now = yield* Clock.currentTimeMillis
            const waitMs = yield* Ref.modify(bucket, ({ tokens, at }) => {
              const filled = Math.min(rate, tokens + (now - at) * perMs)
              if (filled >= 1) return [0, { tokens: filled - 1, at: now }] as const
              return [Math.ceil((1 - filled) / perMs), { tokens: filled, at: now }] as const
            })
            if (waitMs === 0) return
            if (waitMs > maxRateWait) {
              return yield* Effect.fail(unavailable(`submit rate limit (${rate}/min): next slot in ${Math.ceil(waitMs / 1000)} s`))
            }
            yield* Effect.sleep(waitMs)
            yield* takeToken
          })

    /** Ids of our jobs believed QUEUED (from submits and polls); refreshed with squeue when at the cap. */
    const queued = yield* Ref.make(new Set<string>())
    const queueRefreshedAt = yield* Ref.make(0)

    /**
     * Our queued jobs as far as we know; when that reaches the cap, asked again with one squeue
     * (at most every 5 s), which also counts jobs other ccat instances submitted and drops jobs
     * that have started since the last poll.
     */
    const queuedCount = (cap: number): Effect.Effect<number, BackendUnavailable> =>
      Effect.gen(function* () {
        const known = (yield* Ref.get(queued)).size
        if (known < cap) return known
        const now = yield* Clock.currentTimeMillis
        if (now - (yield* Ref.get(queueRefreshedAt)) <= 5_000) return known
        const r = yield* slurm("squeue", ["-h", "--me", "-t", "PENDING,CONFIGURING", "-o", "%i|%j|%T"])
        if (r.exitCode !== 0) return yield* Effect.fail(failedCall("squeue", r))
        const mine = parseNamedJobs(r.stdout).filter((j) => j.jobName.startsWith(namePrefix) && j.state === "QUEUED")
        yield* Ref.set(queued, new Set(mine.map((j) => j.jobId)))
        yield* Ref.set(queueRefreshedAt, now)
        return mine.length
      })

    const capacity: Effect.Effect<number | null, BackendUnavailable> =
      options.maxQueued === undefined ? Effect.succeed(null) : Effect.map(queuedCount(options.maxQueued), (n) => Math.max(0, options.maxQueued! - n))

    const checkQueueCap: Effect.Effect<void, BackendUnavailable> =
      options.maxQueued === undefined
        ? Effect.void
        : Effect.gen(function* () {
            const cap = options.maxQueued!
            const count = yield* queuedCount(cap)
            if (count >= cap) return yield* Effect.fail(unavailable(`queue full: ${count} jobs queued (cap ${cap})`))
          })

    const submitLock = yield* Effect.makeSemaphore(1)

    // ------------------------------------------------------------ submit
    const writeScript = (job: JobSpec, script: string): Effect.Effect<string, BackendUnavailable | JobRejected> =>
      Effect.tryPromise({
        try: async () => {
          const logs = join(job.runDir, "logs")
          await mkdir(logs, { recursive: true })
          const path = join(logs, "job.sbatch")
          await writeFile(path, script, { mode: 0o644 })
          return path
        },
        catch: (e) => {
          const err = e as NodeJS.ErrnoException
          const reason = `cannot write the batch script in ${job.runDir}: ${err.message}`
          // A folder that cannot be written is the run's problem; a full or flaky disk may pass.
          return err.code === "EACCES" || err.code === "EPERM" || err.code === "EROFS" || err.code === "ENOTDIR"
            ? new JobRejected({ backend: BACKEND, reason })
            : unavailable(reason)
        }
      })

    /** A failure before sbatch was run: the job surely did not reach Slurm. */
    const notSubmitted = <A, E>(effect: Effect.Effect<A, E | BackendUnavailable>) =>
      Effect.mapError(effect, (e) => (e instanceof BackendUnavailable ? new BackendUnavailable({ ...e, notSubmitted: true }) : e))

    const submit = (job: JobSpec): Effect.Effect<string, BackendUnavailable | JobRejected> =>
      submitLock.withPermits(1)(
        Effect.gen(function* () {
          const script = renderBatchScript(job, { partition: options.partition, account: options.account, qos: options.qos, apptainer: options.apptainer })
          if (Either.isLeft(script)) return yield* Effect.fail(script.left)
          const path = yield* notSubmitted(writeScript(job, script.right))
          yield* notSubmitted(checkQueueCap)
          yield* notSubmitted(takeToken)
          const r = yield* slurm("sbatch", ["--parsable", path])
          if (r.exitCode !== 0) {
            const text = slurmErrorText(r.stderr, r.stdout)
            if (isSubmitLimitMessage(r.stderr)) return yield* Effect.fail(new BackendUnavailable({ backend: BACKEND, reason: `sbatch: ${text}`, notSubmitted: true }))
            if (!isUnavailableMessage(r.stderr)) return yield* Effect.fail(new JobRejected({ backend: BACKEND, reason: text }))
            // A controller that could not be contacted never got the job; one that stopped answering may have.
            return yield* Effect.fail(new BackendUnavailable({ backend: BACKEND, reason: `sbatch: ${text}`, notSubmitted: isNotContactedMessage(r.stderr) }))
          }
          const jobId = parseSbatchJobId(r.stdout)
          if (jobId === null) return yield* Effect.fail(unavailable(`sbatch printed no job id: ${JSON.stringify(r.stdout.slice(0, 200))}`))
          yield* Ref.update(queued, (s) => new Set(s).add(jobId))
          return jobId
        })
      )

    // ------------------------------------------------------------ accounting
    const mode = yield* Ref.make<AccountingMode>("slurmdbd")
    /** Jobs finished in squeue that accounting did not have yet, since when. */
    const lagSince = yield* Ref.make(new Map<string, number>())
    const accountingLagMs = options.accountingLagMs ?? 30_000
    const sacctFields = "JobID,State,ExitCode,Elapsed,TotalCPU,MaxRSS,End"

    /**
     * One sacct call in the current accounting mode. When sacct says accounting storage is
     * disabled it switches to the jobcomp file (`sacct -c`) and asks again at once; when that
     * cannot be read either, to the controller. `null`: no accounting can answer here (controller
     * mode). Fails when slurmdbd exists but does not answer now. Every reader of accounting goes
     * through here, so a switch made by one is seen by all and none stops at the switch.
     */
    const askAccounting = (args: ReadonlyArray<string>): Effect.Effect<string | null, BackendUnavailable> =>
      Effect.gen(function* () {
        for (;;) {
          const m = yield* Ref.get(mode)
          if (m === "controller") return null
          const r = yield* slurm("sacct", m === "jobcomp" ? ["-c", ...args] : [...args])
          if (r.exitCode === 0) return r.stdout
          if (m === "slurmdbd" && isAccountingDisabledMessage(r.stderr)) {
            yield* Effect.logInfo("slurm: accounting storage is disabled; reading the jobcomp file (sacct -c) from now on")
            yield* Ref.set(mode, "jobcomp")
            continue
          }
          if (m === "jobcomp") {
            yield* Effect.logInfo(`slurm: sacct -c failed (${slurmErrorText(r.stderr)}); asking the controller (scontrol) from now on`)
            yield* Ref.set(mode, "controller")
            return null
          }
          return yield* Effect.fail(failedCall("sacct", r))
        }
      })

    /**
     * Details of finished jobs from accounting, in one sacct call (per chunk). `null` when
     * accounting cannot answer now (slurmdbd down): the caller decides whether that is fatal.
     */
    const accountingStatuses = (ids: ReadonlyArray<string>): Effect.Effect<Map<string, JobStatus> | null, BackendUnavailable> =>
      Effect.gen(function* () {
        const result = new Map<string, JobStatus>()
        if (ids.length === 0) return result
        for (const chunk of chunks(ids, perCall)) {
          const answer = yield* askAccounting(["-P", "-n", "-j", chunk.join(","), "-o", sacctFields]).pipe(
            Effect.catchAll((e) => Effect.logWarning(`slurm: ${e.reason}`).pipe(Effect.as(null)))
          )
          if (answer === null) return null
          for (const [id, status] of parseSacctStatuses(answer)) result.set(id, status)
        }
        return result
      })

    /** Jobs the controller still holds, with exit codes, from ONE `scontrol show job -o` (all jobs). */
    const controllerStatuses: Effect.Effect<Map<string, JobStatus>, BackendUnavailable> = Effect.gen(function* () {
      const r = yield* slurm("scontrol", ["show", "job", "-o"])
      if (r.exitCode !== 0) {
        if (/no jobs in the system/i.test(r.stdout + r.stderr)) return new Map()
        return yield* Effect.fail(failedCall("scontrol", r))
      }
      return parseScontrolJobs(r.stdout)
    })

    // ------------------------------------------------------------ poll
    const squeueStates = (ids: ReadonlyArray<string>): Effect.Effect<Map<string, SqueueState>, BackendUnavailable> =>
      Effect.gen(function* () {
        const result = new Map<string, SqueueState>()
        for (const chunk of chunks(ids, perCall)) {
          const r = yield* slurm("squeue", ["-h", "-t", "all", "-j", chunk.join(","), "-o", "%i|%T|%r"])
          // squeue -j with ONLY unknown ids exits 1 "Invalid job id specified": none known, not an error.
          if (r.exitCode !== 0 && !isInvalidJobIdMessage(r.stderr)) return yield* Effect.fail(failedCall("squeue", r))
          for (const s of parseSqueueStates(r.stdout)) result.set(s.jobId, s)
        }
        return result
      })

    const poll = (jobIds: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, JobStatus>, BackendUnavailable> =>
      Effect.gen(function* () {
        const ids = [...new Set(jobIds)].filter(isJobId)
        const result = new Map<string, JobStatus>()
        if (ids.length === 0) return result

        const inQueue = yield* squeueStates(ids)
        const unfinished = (id: string) => {
          const s = inQueue.get(id)
          return s !== undefined && !finishedStates.has(s.state)
        }
        for (const id of ids) {
          const s = inQueue.get(id)
          if (s !== undefined && unfinished(id)) {
            result.set(id, { jobId: id, state: s.state, exitCode: null, wallSeconds: null, cpuSeconds: null, maxRssBytes: null })
          }
        }

        // Ended, or gone from the queue: exit code and metrics from accounting.
        const need = ids.filter((id) => !unfinished(id))
        if (need.length > 0) {
          const accounted = yield* accountingStatuses(need)
          const gone = need.filter((id) => !inQueue.has(id))
          // slurmdbd unreachable and jobs only accounting knows: say "ask again later", never "unknown".
          if (accounted === null && (yield* Ref.get(mode)) === "slurmdbd" && gone.length > 0) {
            return yield* Effect.fail(unavailable("accounting (slurmdbd) does not answer; cannot report jobs that left the queue"))
          }
          // Finished in squeue but not (yet) in accounting: slurmctld hands the record to slurmdbd
          // a moment after the job ends. While accounting answers, wait for it (reported as
          // RUNNING, not final yet) up to accountingLagMs, so that CPU time and MaxRSS are not
          // lost; after that, or when accounting cannot answer, ask the controller (no metrics).
          const now = yield* Clock.currentTimeMillis
          const lagging = yield* Ref.get(lagSince)
          const nextLagging = new Map<string, number>()
          const missing: Array<string> = []
          for (const id of need) {
            const a = accounted?.get(id)
            const q = inQueue.get(id)
            if (a !== undefined && (finishedStates.has(a.state) || q === undefined)) {
              result.set(id, a)
            } else if (q !== undefined) {
              const since = lagging.get(id) ?? now
              if (accounted !== null && (yield* Ref.get(mode)) !== "controller" && now - since < accountingLagMs) {
                nextLagging.set(id, since)
                result.set(id, { jobId: id, state: "RUNNING", exitCode: null, wallSeconds: null, cpuSeconds: null, maxRssBytes: null })
              } else {
                missing.push(id)
              }
            }
          }
          yield* Ref.update(lagSince, (m) => {
            const polled = new Set(ids)
            const next = new Map([...m].filter(([id]) => !polled.has(id)))
            for (const [id, since] of nextLagging) next.set(id, since)
            return next
          })
          if (missing.length > 0) {
            const fromController = yield* controllerStatuses
            for (const id of missing) {
              const c = fromController.get(id)
              const q = inQueue.get(id)!
              result.set(id, c ?? { jobId: id, state: q.state, exitCode: null, wallSeconds: null, cpuSeconds: null, maxRssBytes: null })
            }
          }
        }

        yield* Ref.update(queued, (s) => {
          const next = new Set(s)
          for (const id of ids) {
            if (result.get(id)?.state === "QUEUED") next.add(id)
            else next.delete(id)
          }
          return next
        })
        return result
      })

    // ------------------------------------------------------------ findJobs
    /**
     * Every job under the given names, of any user: first from the queue (one squeue), then the
     * names it did not show from accounting (one sacct over the last 7 days). With accounting
     * down, "not found" could make the caller submit twice: it is BackendUnavailable instead.
     */
    const findJobs = (jobNames: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, ReadonlyArray<FoundJob>>, BackendUnavailable> =>
      Effect.gen(function* () {
        const names = [...new Set(jobNames)].filter(isListableJobName)
        const found = new Map<string, Array<FoundJob>>()
        const add = (jobs: ReadonlyArray<FoundJob>) => {
          for (const job of jobs) {
            if (!names.includes(job.jobName)) continue
            const list = found.get(job.jobName) ?? []
            if (!list.some((j) => j.jobId === job.jobId)) list.push(job)
            found.set(job.jobName, list)
          }
        }
        if (names.length === 0) return found
        for (const chunk of chunks(names, perCall)) {
          const r = yield* slurm("squeue", ["-h", "-t", "all", `--name=${chunk.join(",")}`, "-o", squeueFoundJobFormat])
          if (r.exitCode !== 0) return yield* Effect.fail(failedCall("squeue", r))
          add(parseFoundJobs(r.stdout))
        }
        const rest = names.filter((n) => !found.has(n))
        for (const chunk of chunks(rest, perCall)) {
          const answer = yield* askAccounting(["-n", "-P", "-X", "--allusers", `--delimiter=${fieldSeparator}`, `--name=${chunk.join(",")}`, "-o", sacctFoundJobFields, "-S", "now-7days"])
          // Without accounting only the controller's memory (squeue above) can show a job.
          if (answer === null) break
          add(parseFoundJobs(answer))
        }
        return found
      })

    // ------------------------------------------------------------ submitter
    /** The user Slurm sees our commands as (through commandPrefix, if any): asked once. */
    const submitterRef = yield* Ref.make<string | null>(null)
    const submitter: Effect.Effect<string, BackendUnavailable> = Effect.gen(function* () {
      const known = yield* Ref.get(submitterRef)
      if (known !== null) return known
      const r = yield* slurm("id", ["-un"])
      const user = r.stdout.trim()
      if (r.exitCode !== 0 || user === "") return yield* Effect.fail(unavailable(`cannot tell which user submits jobs (id -un: ${slurmErrorText(r.stderr, r.stdout) || `exit ${r.exitCode}`})`))
      yield* Ref.set(submitterRef, user)
      return user
    })

    // ------------------------------------------------------------ cancel
    const cancel = (jobId: string): Effect.Effect<CancelOutcome, BackendUnavailable> =>
      Effect.gen(function* () {
        if (!isJobId(jobId)) return yield* Effect.dieMessage(`slurm: not a Slurm job id: ${JSON.stringify(jobId)}`)
        const r = yield* slurm("scancel", [jobId])
        if (r.exitCode === 0) return "cancelled" as const
        if (isAlreadyFinishedMessage(r.stderr)) return "ended" as const
        if (isInvalidJobIdMessage(r.stderr)) return "unknown" as const
        return yield* Effect.fail(failedCall("scancel", r))
      })

    // ------------------------------------------------------------ probe
    /** Whether the controller answers here: one `sinfo` listing the partitions. */
    const probe: Effect.Effect<void, BackendUnavailable> = Effect.gen(function* () {
      const r = yield* slurm("sinfo", ["-h", "-o", "%P"])
      if (r.exitCode !== 0) return yield* Effect.fail(failedCall("sinfo", r))
    })

    // ------------------------------------------------------------ limits
    /** The partitions as sinfo describes them, asked at most every 5 minutes. */
    const partitionsCache = yield* Ref.make<{ at: number; partitions: ReadonlyArray<SlurmPartition> } | null>(null)
    const limits = (partition: string | null): Effect.Effect<ResourceLimits | null> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const cached = yield* Ref.get(partitionsCache)
        let partitions = cached !== null && now - cached.at < 5 * 60_000 ? cached.partitions : null
        if (partitions === null) {
          const r = yield* slurm("sinfo", sinfoArguments)
          if (r.exitCode !== 0) return null
          const parsed = parseSinfoPartitions(r.stdout)
          if (Either.isLeft(parsed)) return null
          partitions = parsed.right
          yield* Ref.set(partitionsCache, { at: now, partitions })
        }
        const wanted = partition ?? options.partition ?? null
        const p = partitions.find((x) => (wanted === null ? x.isDefault : x.name === wanted))
        if (p === undefined) return null
        return { cpus: p.maxCpusPerNode, memoryBytes: p.maxMemoryMiBPerNode === null ? null : p.maxMemoryMiBPerNode * 1024 * 1024, timeSeconds: p.maxTimeSeconds }
      }).pipe(Effect.orElseSucceed(() => null))

    return { kind: "slurm" as const, submit, findJobs, submitter, poll, cancel, capacity, probe, limits }
  })

/** The Slurm backend as the ExecutionBackend service (needs BackendCalls). */
export const SlurmBackendLive = (options: SlurmBackendOptions = {}): Layer.Layer<ExecutionBackend, never, BackendCalls> =>
  Layer.effect(ExecutionBackend, makeSlurmBackend(options))
