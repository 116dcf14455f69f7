import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { userInfo } from "node:os"
import { join } from "node:path"
import {
  BackendCalls,
  BackendUnavailable,
  type CancelOutcome,
  ExecutionBackend,
  type ExecutionBackendService,
  type FoundJob,
  type JobSpec,
  type JobStatus
} from "./execution-backend.ts"
import { processAlive } from "../process-alive.ts"

/*
 * The local backend (docs/design/runtime.md §4.3): each job is a process on this machine, at most
 * `maxParallel` at a time. Jobs are detached and keep running if `ccat serve` stops; what the
 * backend knows about a job lives in files, so a restarted server finds and adopts them:
 *
 *   <registry>/<job name>.json   { jobId, pid, runDir, started, user, comment }   written at submission
 *   <registry>/<job name>.exit   { exitCode, started, ended }      written by the job's wrapper
 *
 * The wrapper is `/bin/sh -c SCRIPT ccat-job ARGV...`: the program and its arguments arrive as
 * positional parameters and are run as "$@", so no value is ever parsed by a shell. With
 * `timeoutSeconds` the program runs under coreutils `timeout`; exit 124 means TIMEOUT.
 *
 * A job is its whole process group (the wrapper is its leader: `detached` makes it one), and
 * the job ends when its program does: whatever the program left running in the group is sent
 * SIGTERM, and SIGKILL after `leftoverGraceSeconds`, before the exit record says the job ended.
 * Collection starts only then, so no process of the job can change a product after it was
 * checksummed. Chosen over waiting for the leftovers (a forgotten `sleep infinity` would hold
 * the run forever) and over leaving them (they wrote to products already recorded, a
 * fault-injection campaign found). `timeout` runs with --foreground so that it stays in the
 * group instead of making one of its own, which the cleanup and `cancel` would not reach (on a
 * timeout it ends the program; the cleanup ends the program's children). A process that leaves
 * the group on purpose (a double fork into a new session with setsid, or setpgid) escapes: for
 * that collection checks every product's size and modification time again after the last
 * checksum (collect-outputs.ts). The group's members are found in /proc (Linux), without forking
 * a process that would itself be one of them.
 */

/** How long a process the program left behind has to end after SIGTERM before SIGKILL. */
export const leftoverGraceSeconds = 5

export interface LocalBackendOptions {
  /** Where the job files live, e.g. <CCAT_DATA_DIR>/local-jobs. */
  readonly registryDir: string
  readonly maxParallel: number
  /** Called when a job this process started ends (adopted jobs are found by polling). */
  readonly onJobEnd?: (() => void) | undefined
}

interface JobRecord {
  readonly jobId: string
  readonly pid: number
  readonly runDir: string
  /** Milliseconds since the epoch: when it was submitted. */
  readonly started: number
  /** Who started it, and its comment: what tells a job of ours from another database's (records from before have neither). */
  readonly user?: string
  readonly comment?: string
}

/** The user jobs run as: this process's. */
const currentUser = (): string => userInfo().username

interface ExitRecord {
  readonly exitCode: number
  readonly started: number
  readonly ended: number
}

const wrapper = [
  "started=$(date +%s)",
  'if [ -n "$CCAT_JOB_TIMEOUT" ]; then timeout --foreground --kill-after=10 "$CCAT_JOB_TIMEOUT" "$@"; else "$@"; fi',
  "code=$?",
  // The wrapper stays to write the exit record: it ignores the SIGTERM it sends its own group.
  "trap '' TERM",
  "kill -TERM 0 2>/dev/null",
  // Sets `left` to the group's live members but the wrapper (zombies are gone already: state Z).
  'leftovers() { left=""; for stat in /proc/[0-9]*/stat; do { read -r line < "$stat"; } 2>/dev/null || continue; pid=${stat#/proc/}; pid=${pid%/stat}; set -- ${line##*) }; if [ "$pid" != "$$" ] && [ "$1" != Z ] && [ "$3" = "$$" ]; then left="$left $pid"; fi; done; }',
  "leftovers",
  `waited=0; while [ -n "$left" ] && [ $waited -lt ${leftoverGraceSeconds * 10} ]; do sleep 0.1; waited=$((waited + 1)); leftovers; done`,
  'if [ -n "$left" ]; then kill -KILL $left 2>/dev/null; fi',
  'printf \'{"exitCode":%d,"started":%s,"ended":%s}\\n\' "$code" "$started" "$(date +%s)" > "$CCAT_JOB_EXIT.partial"',
  'mv "$CCAT_JOB_EXIT.partial" "$CCAT_JOB_EXIT"'
].join("\n")

const readJson = <A>(path: string): A | null => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as A
  } catch {
    return null
  }
}

export const makeLocalBackend = (options: LocalBackendOptions): Effect.Effect<ExecutionBackendService, never, BackendCalls> =>
  Effect.gen(function* () {
    const calls = yield* BackendCalls
    mkdirSync(options.registryDir, { recursive: true })
    const recordPath = (name: string) => join(options.registryDir, `${name}.json`)
    const exitPath = (name: string) => join(options.registryDir, `${name}.exit`)
    const nameOf = (jobId: string) => jobId.slice(0, jobId.lastIndexOf("@"))

    /** Jobs whose process is alive: the slots in use. Jobs left by an earlier server count too. */
    const running = new Map<string, number>()
    for (const file of readdirSync(options.registryDir)) {
      if (!file.endsWith(".json")) continue
      const record = readJson<JobRecord>(join(options.registryDir, file))
      const name = file.slice(0, -".json".length)
      if (record !== null && processAlive(record.pid) && !existsSync(exitPath(name))) running.set(name, record.pid)
    }
    const busy = (): number => {
      for (const [name, pid] of running) if (!processAlive(pid) || existsSync(exitPath(name))) running.delete(name)
      return running.size
    }

    const submit = (job: JobSpec): Effect.Effect<string, BackendUnavailable> =>
      Effect.gen(function* () {
        if (busy() >= options.maxParallel) {
          return yield* new BackendUnavailable({
            backend: "local",
            reason: `all ${options.maxParallel} slots are busy`,
            notSubmitted: true
          })
        }
        yield* calls.count("spawn")
        // Until the process is spawned, a failure means the job surely does not exist.
        let spawned = false
        return yield* Effect.try({
          try: () => {
            const exit = exitPath(job.jobName)
            for (const stale of [exit, `${exit}.partial`]) if (existsSync(stale)) renameSync(stale, `${stale}.old`)
            mkdirSync(join(job.stdoutPath, ".."), { recursive: true })
            const out = openSync(job.stdoutPath, "a")
            const err = openSync(job.stderrPath, "a")
            const argv =
              job.container.runtime === "apptainer"
                ? [
                    "apptainer",
                    "exec",
                    ...job.container.binds.flatMap((b) => ["--bind", `${b.host}:${b.container}${b.readOnly ? ":ro" : ""}`]),
                    job.container.image,
                    ...job.argv
                  ]
                : [...job.argv]
            const child = spawn("/bin/sh", ["-c", wrapper, "ccat-job", ...argv], {
              cwd: job.runDir,
              detached: true,
              stdio: ["ignore", out, err],
              env: {
                ...process.env,
                ...job.env,
                CCAT_JOB_EXIT: exit,
                CCAT_JOB_TIMEOUT: job.timeoutSeconds === null ? "" : String(Math.ceil(job.timeoutSeconds))
              }
            })
            spawned = true
            closeSync(out)
            closeSync(err)
            child.on("exit", () => options.onJobEnd?.())
            child.unref()
            const started = Date.now()
            const jobId = `${job.jobName}@${started}`
            const record: JobRecord = {
              jobId,
              pid: child.pid ?? -1,
              runDir: job.runDir,
              started,
              user: currentUser(),
              comment: job.comment
            }
            writeFileSync(`${recordPath(job.jobName)}.partial`, JSON.stringify(record))
            renameSync(`${recordPath(job.jobName)}.partial`, recordPath(job.jobName))
            if (child.pid !== undefined) running.set(job.jobName, child.pid)
            return jobId
          },
          catch: (e) =>
            new BackendUnavailable({ backend: "local", reason: e instanceof Error ? e.message : String(e), notSubmitted: !spawned })
        })
      })

    const statusOf = (jobId: string): JobStatus | null => {
      const name = nameOf(jobId)
      const record = readJson<JobRecord>(recordPath(name))
      if (record === null || record.jobId !== jobId) return null
      const exit = readJson<ExitRecord>(exitPath(name))
      if (exit !== null) {
        const state = exit.exitCode === 0 ? "COMPLETED" : exit.exitCode === 124 || exit.exitCode === 137 ? "TIMEOUT" : "FAILED"
        return { jobId, state, exitCode: exit.exitCode, wallSeconds: exit.ended - exit.started, cpuSeconds: null, maxRssBytes: null }
      }
      if (processAlive(record.pid))
        return {
          jobId,
          state: "RUNNING",
          exitCode: null,
          wallSeconds: (Date.now() - record.started) / 1000,
          cpuSeconds: null,
          maxRssBytes: null
        }
      // The process is gone without its wrapper writing an exit: killed from outside, or the machine rebooted.
      return { jobId, state: "NODE_FAIL", exitCode: null, wallSeconds: null, cpuSeconds: null, maxRssBytes: null }
    }

    return {
      kind: "local",
      submit,
      capacity: Effect.sync(() => Math.max(0, options.maxParallel - busy())),
      findJobs: (names) =>
        Effect.sync(() => {
          const found = new Map<string, ReadonlyArray<FoundJob>>()
          for (const name of names) {
            const record = readJson<JobRecord>(recordPath(name))
            if (record === null) continue
            const state = statusOf(record.jobId)?.state ?? "UNKNOWN"
            found.set(name, [
              {
                jobId: record.jobId,
                jobName: name,
                state,
                user: record.user ?? null,
                comment: record.comment ?? null,
                submittedAt: new Date(record.started)
              }
            ])
          }
          return found
        }).pipe(Effect.tap(() => calls.count("lookup"))),
      submitter: Effect.sync(currentUser),
      probe: Effect.void,
      // Processes on this machine are not held to the resources a step asks for.
      limits: () => Effect.succeed(null),
      poll: (jobIds) =>
        Effect.sync(() => {
          const statuses = new Map<string, JobStatus>()
          for (const id of jobIds) {
            const s = statusOf(id)
            if (s !== null) statuses.set(id, s)
          }
          return statuses
        }).pipe(Effect.tap(() => calls.count("poll"))),
      cancel: (jobId) =>
        Effect.sync((): CancelOutcome => {
          const record = readJson<JobRecord>(recordPath(nameOf(jobId)))
          if (record === null || record.jobId !== jobId) return "unknown"
          if (!processAlive(record.pid) || existsSync(exitPath(nameOf(jobId)))) return "ended"
          try {
            // The whole process group: the wrapper, `timeout` and the program.
            process.kill(-record.pid, "SIGTERM")
            return "cancelled"
          } catch {
            return "ended"
          }
        }).pipe(Effect.tap(() => calls.count("cancel")))
    } satisfies ExecutionBackendService
  })

export const LocalBackendLive = (options: LocalBackendOptions): Layer.Layer<ExecutionBackend, never, BackendCalls> =>
  Layer.effect(ExecutionBackend, makeLocalBackend(options))
