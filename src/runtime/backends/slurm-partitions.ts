import { Effect, Either } from "effect"
import { BackendUnavailable } from "./execution-backend.ts"
import { runSlurmCommand } from "./slurm-command.ts"

/*
 * What each Slurm partition offers, from one `sinfo` call: its time limit and the CPUs and
 * memory of its largest node. `ccat plan` compares every step on a Slurm location with it, to
 * warn about a step whose jobs could never start (more CPUs or memory than any node has, more
 * time than the partition allows, a partition that does not exist).
 *
 * The call runs as the Slurm backend runs its commands (slurm-backend.ts): execFile, never a
 * shell; a timeout; only a few variables of the environment, so that SINFO_FORMAT,
 * SINFO_PARTITION or SINFO_SORT in the user's shell cannot change what is parsed.
 */

export interface SlurmPartition {
  readonly name: string
  /** The partition jobs go to when they name none (`*` after its name in sinfo). */
  readonly isDefault: boolean
  /** MaxTime in seconds; null when it is infinite or sinfo does not say. */
  readonly maxTimeSeconds: number | null
  /** CPUs of its largest node; null when sinfo cannot say exactly (a `+` lower bound, `N/A`). */
  readonly maxCpusPerNode: number | null
  /** Memory of its largest node in MiB (Slurm's "MB"); null when sinfo cannot say exactly. */
  readonly maxMemoryMiBPerNode: number | null
}

/**
 * `-a`: hidden partitions and those of other groups too, so that a partition the step may well
 * use is never reported missing. `-e`: one line per distinct node configuration, so that CPUs and
 * memory are exact rather than `48+` ("48 or more") for a mix of nodes. `%P` is the name with `*`
 * on the default partition, `%l` the time limit, `%c` CPUs per node, `%m` memory per node in MiB.
 */
export const sinfoArguments: ReadonlyArray<string> = ["-h", "-a", "-e", "-o", "%P|%l|%c|%m"]

const BACKEND = "slurm"
const unavailable = (reason: string) => new BackendUnavailable({ backend: BACKEND, reason })

/** A Slurm duration as sinfo prints it: `infinite`, `30:00`, `2:00:00`, `1-00:00:00`, `60`. */
export const parseSlurmDuration = (text: string): Either.Either<number | null, string> => {
  const t = text.trim()
  if (/^(infinite|unlimited)$/i.test(t)) return Either.right(null)
  // NO_VAL: the partition sets no limit sinfo knows of.
  if (/^(n\/a|none)$/i.test(t)) return Either.right(null)
  // Slurm's forms: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
  // days-hours:minutes, days-hours:minutes:seconds.
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t)
  if (m === null) return Either.left(`not a time limit: ${JSON.stringify(text)}`)
  const [days, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)))
  if (days !== undefined) return Either.right(days * 86_400 + (a ?? 0) * 3600 + (b ?? 0) * 60 + (c ?? 0))
  if (c !== undefined) return Either.right(a! * 3600 + b! * 60 + c)
  if (b !== undefined) return Either.right(a! * 60 + b)
  return Either.right(a! * 60)
}

/** A per-node count (`%c`, `%m`): exact, or null for a lower bound (`48+`) or `N/A`. */
const parseCount = (text: string, what: string): Either.Either<number | null, string> => {
  const t = text.trim()
  if (/^\d+$/.test(t)) return Either.right(Number(t))
  if (/^\d+\+$/.test(t) || /^n\/a$/i.test(t)) return Either.right(null)
  return Either.left(`not a number of ${what}: ${JSON.stringify(text)}`)
}

const larger = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Math.max(a, b))

/**
 * The output of `sinfo` with `sinfoArguments`, one partition per name in the order sinfo lists
 * them. A partition has a line per node configuration; its largest node is the maximum over
 * them, and unknown when any line only gives a lower bound. A line that is not four fields is
 * an error: a silently empty list would report every partition missing.
 */
export const parseSinfoPartitions = (stdout: string): Either.Either<ReadonlyArray<SlurmPartition>, string> => {
  const byName = new Map<string, SlurmPartition>()
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue
    const fields = line.split("|")
    if (fields.length !== 4) return Either.left(`unexpected sinfo line: ${JSON.stringify(line)}`)
    const [rawName, time, cpus, memory] = fields as [string, string, string, string]
    const isDefault = rawName.trim().endsWith("*")
    const name = rawName.trim().replace(/\*$/, "")
    if (name === "") return Either.left(`unexpected sinfo line: ${JSON.stringify(line)}`)
    const parsed = Either.all([parseSlurmDuration(time), parseCount(cpus, "CPUs"), parseCount(memory, "MiB")])
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    const [maxTimeSeconds, maxCpusPerNode, maxMemoryMiBPerNode] = parsed.right
    const seen = byName.get(name)
    byName.set(
      name,
      seen === undefined
        ? { name, isDefault, maxTimeSeconds, maxCpusPerNode, maxMemoryMiBPerNode }
        : {
            name,
            isDefault: seen.isDefault || isDefault,
            // The time limit is the partition's own; every line repeats it.
            maxTimeSeconds: seen.maxTimeSeconds,
            maxCpusPerNode: larger(seen.maxCpusPerNode, maxCpusPerNode),
            maxMemoryMiBPerNode: larger(seen.maxMemoryMiBPerNode, maxMemoryMiBPerNode)
          }
    )
  }
  return Either.right([...byName.values()])
}

/** The first line Slurm wrote, for a one-line reason. */
const firstLine = (stderr: string, stdout: string): string => (stderr.trim() || stdout.trim()).split("\n")[0]?.trim() || "no message"

export interface SlurmPartitionsOptions {
  /** The program to run (default `sinfo`, looked up on PATH). */
  readonly command?: string | undefined
  /** How long to wait for it (default 10 s: a plan must not hang on a controller that is down). */
  readonly timeoutMs?: number | undefined
}

/**
 * The cluster's partitions, from one sinfo call. BackendUnavailable when sinfo is missing, does
 * not answer in time, exits non-zero (controller down) or prints what cannot be read.
 */
export const slurmPartitions = (options: SlurmPartitionsOptions = {}): Effect.Effect<ReadonlyArray<SlurmPartition>, BackendUnavailable> => {
  const command = options.command ?? "sinfo"
  const run = runSlurmCommand({ commandTimeoutMs: options.timeoutMs ?? 10_000 }, command, sinfoArguments).pipe(
    Effect.flatMap((r) =>
      r.exitCode === 0
        ? Effect.succeed(r.stdout)
        : Effect.fail(unavailable(`${command} exited ${r.exitCode}: ${firstLine(r.stderr, r.stdout)}`))
    )
  )
  return Effect.flatMap(run, (stdout) =>
    Either.match(parseSinfoPartitions(stdout), {
      onLeft: (reason) => Effect.fail(unavailable(`could not read what ${command} printed: ${reason}`)),
      onRight: (partitions) => Effect.succeed(partitions)
    })
  )
}
