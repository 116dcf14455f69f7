import type { FoundJob, JobState, JobStatus } from "./execution-backend.ts"

/*
 * Pure parsers for what the Slurm commands print (Slurm 22.05 and later), so that the backend
 * itself only runs commands and merges answers. Every parser is lenient: a line it cannot read
 * is skipped, a field it cannot read is null; none throws.
 */

/** A job id this backend hands to Slurm commands: `123`, or an array task `123_4`. */
export const isJobId = (s: string): boolean => /^\d+(_\d+)?$/.test(s)

/** A job name that can go into `--name=a,b` (a comma or a space would split it). */
export const isListableJobName = (s: string): boolean => /^[A-Za-z0-9._+-]+$/.test(s) && s.length <= 200

/** Numeric order of job ids (array tasks after their parent). */
export const compareJobIds = (a: string, b: string): number => {
  const [a1 = "0", a2 = "-1"] = a.split("_")
  const [b1 = "0", b2 = "-1"] = b.split("_")
  return Number(a1) - Number(b1) || Number(a2) - Number(b2)
}

/**
 * A Slurm state (squeue `%T`, sacct `State`, scontrol `JobState`) as a JobState.
 * `CANCELLED by 0` is CANCELLED; REQUEUE_HOLD, REQUEUE_FED and SPECIAL_EXIT are REQUEUED;
 * SIGNALING and STAGE_OUT (a job on its way out) are RUNNING; anything not listed is UNKNOWN.
 */
export const mapSlurmState = (raw: string): JobState => {
  const state = raw.trim().split(/\s+/)[0]?.replace(/\+$/, "").toUpperCase() ?? ""
  switch (state) {
    case "PENDING":
    case "CONFIGURING":
    case "RESV_DEL_HOLD":
      return "QUEUED"
    case "RUNNING":
    case "COMPLETING":
    case "SIGNALING":
    case "STAGE_OUT":
      return "RUNNING"
    case "COMPLETED":
      return "COMPLETED"
    case "FAILED":
    case "BOOT_FAIL":
    case "DEADLINE":
      return "FAILED"
    case "TIMEOUT":
      return "TIMEOUT"
    case "OUT_OF_MEMORY":
      return "OUT_OF_MEMORY"
    case "NODE_FAIL":
      return "NODE_FAIL"
    case "CANCELLED":
      return "CANCELLED"
    case "PREEMPTED":
      return "PREEMPTED"
    case "REQUEUED":
    case "REQUEUE_HOLD":
    case "REQUEUE_FED":
    case "SPECIAL_EXIT":
      return "REQUEUED"
    default:
      return "UNKNOWN"
  }
}

/**
 * Slurm's `ExitCode` `<code>:<signal>` as one number: `2:0` → 2; a program ended by a signal
 * (`0:9`) → 128 + signal, as a shell reports it; unreadable → null.
 */
export const parseExitCode = (raw: string): number | null => {
  const m = /^\s*(\d+)(?::(\d+))?\s*$/.exec(raw)
  if (!m) return null
  const code = Number(m[1])
  const signal = m[2] === undefined ? 0 : Number(m[2])
  return code === 0 && signal > 0 ? 128 + signal : code
}

/**
 * A Slurm duration in seconds: `Elapsed` ([D-]HH:MM:SS), `TotalCPU` ([D-][HH:]MM:SS.mmm) and
 * scontrol's `RunTime`. Fractions are kept. Empty, `INVALID`, `UNLIMITED` → null.
 */
export const parseSlurmDuration = (raw: string): number | null => {
  const m = /^\s*(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+(?:\.\d+)?))?\s*$/.exec(raw)
  if (!m) return null
  const days = m[1] === undefined ? 0 : Number(m[1])
  // Fields from the right: SS(.mmm), MM, HH. "MM:SS.mmm" has two, "HH:MM:SS" three.
  const parts = [m[2], m[3], m[4]].filter((p): p is string => p !== undefined)
  if (parts.length < 2 && m[1] === undefined) return null
  let seconds = 0
  const weights = parts.length === 3 ? [3600, 60, 1] : parts.length === 2 ? [60, 1] : [3600]
  parts.forEach((p, i) => {
    seconds += Number(p) * (weights[i] ?? 0)
  })
  return days * 86400 + seconds
}

/** A Slurm memory size (`MaxRSS`: `64360K`, `1.5M`, `2G`, plain bytes) in bytes; empty → null. */
export const parseSlurmMemory = (raw: string): number | null => {
  const m = /^\s*(\d+(?:\.\d+)?)([KMGTP]?)\s*$/i.exec(raw)
  if (!m) return null
  const power = "BKMGTP".indexOf((m[2] || "B").toUpperCase())
  return Math.round(Number(m[1]) * 1024 ** power)
}

/** `sbatch --parsable`: `<id>` or `<id>;<cluster>`; null when there is no id. */
export const parseSbatchJobId = (stdout: string): string | null => {
  for (const line of stdout.split("\n").reverse()) {
    const m = /^\s*(\d+)(?:;\S*)?\s*$/.exec(line)
    if (m) return m[1]!
  }
  return null
}

export interface SqueueState {
  readonly jobId: string
  readonly rawState: string
  readonly state: JobState
  readonly reason: string
}

/** `squeue -h -o '%i|%T|%r'`. */
export const parseSqueueStates = (stdout: string): ReadonlyArray<SqueueState> =>
  stdout.split("\n").flatMap((line) => {
    const [jobId, rawState, ...reason] = line.trim().split("|")
    if (!jobId || rawState === undefined) return []
    return [{ jobId, rawState, state: mapSlurmState(rawState), reason: reason.join("|") }]
  })

export interface NamedJob {
  readonly jobId: string
  readonly jobName: string
  readonly state: JobState
}

/**
 * `squeue -h -o '%i|%j|%T'` and `sacct -n -P -X -o JobID,JobName,State`: the id is the first
 * field, the state the last, the name everything between (a name may contain `|`).
 */
export const parseNamedJobs = (stdout: string): ReadonlyArray<NamedJob> =>
  stdout.split("\n").flatMap((line) => {
    const fields = line.replace(/\r$/, "").split("|")
    if (fields.length < 3) return []
    const jobId = fields[0]!.trim()
    const state = fields[fields.length - 1]!
    if (jobId === "" || jobId.includes(".")) return []
    return [{ jobId, jobName: fields.slice(1, -1).join("|"), state: mapSlurmState(state) }]
  })

/**
 * The separator of the fields `squeue`/`sacct` print for findJobs: the ASCII unit separator,
 * which no job name or comment a person types contains (`|` may be in both).
 */
export const fieldSeparator = "\u001f"

/** `squeue -o` for findJobs: id, state, user, submit time, name, comment. */
export const squeueFoundJobFormat = ["%i", "%T", "%u", "%V", "%j", "%k"].join(fieldSeparator)

/** `sacct -o` for findJobs, the same fields. */
export const sacctFoundJobFields = "JobID,State,User,Submit,JobName,Comment"

/** A Slurm timestamp printed under TZ=UTC (`2026-12-07T13:15:39`); `Unknown`, `N/A`, empty → null. */
export const parseSlurmUtcTime = (raw: string): Date | null => {
  const m = /^\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s*$/.exec(raw)
  if (!m) return null
  const d = new Date(`${m[1]}Z`)
  return Number.isNaN(d.getTime()) ? null : d
}

/**
 * Lines of `squeueFoundJobFormat` / `sacctFoundJobFields` joined by fieldSeparator (array and
 * step rows of sacct are skipped). A comment that contains the separator keeps it.
 */
export const parseFoundJobs = (stdout: string): ReadonlyArray<FoundJob> =>
  stdout.split("\n").flatMap((line) => {
    const fields = line.replace(/\r$/, "").split(fieldSeparator)
    if (fields.length < 6) return []
    const [jobId = "", state = "", user = "", submit = "", jobName = ""] = fields
    const id = jobId.trim()
    if (id === "" || id.includes(".")) return []
    const comment = fields.slice(5).join(fieldSeparator)
    return [
      {
        jobId: id,
        jobName,
        state: mapSlurmState(state),
        // The jobcomp file (sacct -c) writes the user as `name(uid)`.
        user: user.trim() === "" ? null : user.trim().replace(/\(\d+\)$/, ""),
        // squeue prints "(null)" for a job without a comment.
        comment: comment === "" || comment === "(null)" ? null : comment,
        submittedAt: parseSlurmUtcTime(submit)
      }
    ]
  })

/**
 * `sacct -P -n -o JobID,State,ExitCode,Elapsed,TotalCPU,MaxRSS,End` WITHOUT `-X`: a row per job
 * (`123`) and per step (`123.batch`, `123.extern`, `123.0`). State, exit code, elapsed and CPU
 * time come from the job's row (its TotalCPU sums the steps); MaxRSS exists only on step rows
 * (the largest step's is taken). Also reads `sacct -c` (the jobcomp file: no TotalCPU/MaxRSS).
 *
 * slurmctld sends a job's start and its completion to slurmdbd as separate messages, and on a
 * busy machine a short job has already ended when its start record is written: sacct then shows
 * the final state without the completion (`FAILED|0:0|…|Unknown`). Such a record is not the
 * job's result (its exit code would be a wrong 0): it is reported as RUNNING, ask again.
 */
/** A finished state whose completion accounting has not received yet (see parseSacctStatuses). */
const isIncompleteRecord = (rawState: string, state: JobState, exitCode: string, end: string): boolean =>
  (state !== "QUEUED" && state !== "RUNNING" && end.trim() === "Unknown") ||
  // FAILED is a non-zero exit or a launch failure (0:53): never 0:0 once complete.
  (rawState.trim() === "FAILED" && /^\s*0:0\s*$/.test(exitCode))

export const parseSacctStatuses = (stdout: string): Map<string, JobStatus> => {
  const jobs = new Map<string, { state: JobState; exitCode: number | null; wall: number | null; cpu: number | null }>()
  const rss = new Map<string, number>()
  for (const line of stdout.split("\n")) {
    const [id = "", state = "", exitCode = "", elapsed = "", totalCpu = "", maxRss = "", end = ""] = line.trim().split("|")
    if (id === "" || state === "") continue
    const dot = id.indexOf(".")
    const jobId = dot < 0 ? id : id.slice(0, dot)
    const memory = parseSlurmMemory(maxRss)
    if (memory !== null) rss.set(jobId, Math.max(rss.get(jobId) ?? 0, memory))
    if (dot < 0) {
      const mapped = mapSlurmState(state)
      const code = parseExitCode(exitCode)
      jobs.set(
        jobId,
        isIncompleteRecord(state, mapped, exitCode, end)
          ? { state: "RUNNING", exitCode: null, wall: null, cpu: null }
          : { state: mapped, exitCode: code, wall: parseSlurmDuration(elapsed), cpu: parseSlurmDuration(totalCpu) }
      )
    }
  }
  return new Map(
    [...jobs].map(([jobId, j]) => [
      jobId,
      { jobId, state: j.state, exitCode: j.exitCode, wallSeconds: j.wall, cpuSeconds: j.cpu, maxRssBytes: rss.get(jobId) ?? null }
    ])
  )
}

/** `scontrol show job -o` (one line per job): state, exit code and run time; no CPU time or memory. */
export const parseScontrolJobs = (stdout: string): Map<string, JobStatus> => {
  const result = new Map<string, JobStatus>()
  for (const line of stdout.split("\n")) {
    const field = (key: string): string | null => new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line)?.[1] ?? null
    const jobId = field("JobId")
    const state = field("JobState")
    if (jobId === null || state === null) continue
    const arrayJob = field("ArrayJobId")
    const arrayTask = field("ArrayTaskId")
    const id = arrayJob !== null && arrayTask !== null && /^\d+$/.test(arrayTask) ? `${arrayJob}_${arrayTask}` : jobId
    const exit = field("ExitCode")
    const runTime = field("RunTime")
    result.set(id, {
      jobId: id,
      state: mapSlurmState(state),
      exitCode: exit === null ? null : parseExitCode(exit),
      wallSeconds: runTime === null ? null : parseSlurmDuration(runTime),
      cpuSeconds: null,
      maxRssBytes: null
    })
  }
  return result
}

/** Messages that mean "Slurm could not be asked" (retry later), not "Slurm said no". */
const unavailablePatterns = [
  /unable to contact slurm controller/i,
  /slurm controller not responding/i,
  /socket timed out/i,
  /connection refused/i,
  /connection timed out/i,
  /connection reset/i,
  /communication connection failure/i,
  /zero bytes were transmitted/i,
  /problem talking to the database/i,
  /persistent connection/i,
  /unable to connect to (?:the )?database/i,
  /slurmdbd/i,
  /temporarily unable/i,
  /resource temporarily unavailable/i,
  /slurm backup controller in standby mode/i,
  /no route to host/i,
  /network is unreachable/i,
  /munge/i,
  /authentication (?:failure|error)/i,
  /transient/i,
  /insane message length/i
]

export const isUnavailableMessage = (stderr: string): boolean => unavailablePatterns.some((p) => p.test(stderr))

/**
 * sbatch turned the job away for now, under a limit that frees as jobs end: the submit limits of
 * an association or QOS (`QOSMaxSubmitJobPerUserLimit`, "job submit limit"). Slurm reports a
 * size or time limit with the same "accounting/QOS policy" words: that is waited on too, as
 * the cheaper mistake than failing a run that only had to wait.
 */
export const isSubmitLimitMessage = (stderr: string): boolean => /submit ?(job)?limit|MaxSubmitJob|accounting\/QOS policy/i.test(stderr)

/** sbatch could not reach the controller at all: the job never got there. */
export const isNotContactedMessage = (stderr: string): boolean =>
  /unable to contact slurm controller|connection refused|no route to host|network is unreachable/i.test(stderr)

/** sacct without slurmdbd: "Slurm accounting storage is disabled". */
export const isAccountingDisabledMessage = (stderr: string): boolean => /accounting storage is disabled/i.test(stderr)

/** squeue/scontrol/scancel about a job id the controller no longer (or never) knew. */
export const isInvalidJobIdMessage = (stderr: string): boolean => /invalid job id specified/i.test(stderr)

/** scancel of a job that has already ended. */
export const isAlreadyFinishedMessage = (stderr: string): boolean => /already (?:completing or )?completed|job\/step already/i.test(stderr)

/** The meaningful part of a Slurm error output: its `error:` lines, else all of it, on one line. */
export const slurmErrorText = (stderr: string, stdout = ""): string => {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
  const errors = lines.filter((l) => /error/i.test(l))
  const text = (errors.length > 0 ? errors : lines).join("; ") || stdout.trim()
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
}
