import { Effect, Either } from "effect"
import { BackendUnavailable } from "./execution-backend.ts"
import { runSlurmCommand } from "./slurm-command.ts"

/*
 * Whether Slurm ends the processes a job leaves behind. A process that outlives its job can
 * change a product after ccat checksummed it. Slurm's ProctrackType decides what "the job's
 * processes" are when the job ends (slurm.conf(5)): proctrack/cgroup holds every process of
 * the job in its cgroup, whatever it does; proctrack/linuxproc follows parent process ids and
 * proctrack/pgid process groups, and both miss a process whose parent ended (it becomes a child
 * of init) or that changed its process group. So only proctrack/cgroup is safe, and `ccat serve`
 * says so at start, as a WARNING naming the setting and what to change, when a location it
 * serves runs on Slurm and the cluster answers anything else. It does not refuse to start:
 * collection still fails a run whose product it sees change (collect-outputs.ts); the warning
 * says what makes that rare.
 *
 * The setting is read with `scontrol show config`, run as the Slurm backend runs its commands
 * (slurm-backend.ts): execFile, never a shell; a timeout; slurmCommandEnvironment().
 */

/** The ProctrackType values that end every process of a job. */
export const safeProctrackTypes: ReadonlyArray<string> = ["proctrack/cgroup"]

/**
 * The settings in the output of `scontrol show config`: `Name = value` lines (names padded to
 * a column; a value may contain `=` and spaces). The header line and the controller's status
 * lines after the settings are not settings and are skipped.
 */
export const parseSlurmConfig = (stdout: string): ReadonlyMap<string, string> => {
  const settings = new Map<string, string>()
  for (const line of stdout.split("\n")) {
    const m = /^([A-Za-z][A-Za-z0-9_]*)\s*=\s?(.*)$/.exec(line)
    if (m !== null) settings.set(m[1]!, m[2]!.trim())
  }
  return settings
}

/** The ProctrackType in the output of `scontrol show config`; Left when it is not there. */
export const proctrackTypeOf = (stdout: string): Either.Either<string, string> => {
  const value = parseSlurmConfig(stdout).get("ProctrackType")
  return value === undefined || value === "" ? Either.left("its output names no ProctrackType") : Either.right(value)
}

/** The warning for a ProctrackType, or null when it is safe. */
export const proctrackWarning = (proctrackType: string): string | null =>
  safeProctrackTypes.includes(proctrackType)
    ? null
    : `Slurm's ProctrackType is ${proctrackType}: it can miss processes a job leaves behind (one whose parent ended, or that left its process group), so they may outlive the job and change a product after ccat checksummed it (collection fails such a run only if it sees the change). Set ProctrackType=proctrack/cgroup in slurm.conf (with a cgroup.conf) and restart slurmctld and slurmd.`

const BACKEND = "slurm"
const unavailable = (reason: string) => new BackendUnavailable({ backend: BACKEND, reason })

/** The first line Slurm wrote, for a one-line reason. */
const firstLine = (stderr: string, stdout: string): string => (stderr.trim() || stdout.trim()).split("\n")[0]?.trim() || "no message"

export interface SlurmProctrackOptions {
  /** The program to run (default `scontrol`, looked up on PATH). */
  readonly command?: string | undefined
  /** How long to wait for it (default 10 s: serve's start must not hang on a controller that is down). */
  readonly timeoutMs?: number | undefined
}

/** The cluster's ProctrackType, from one `scontrol show config`. */
export const slurmProctrackType = (options: SlurmProctrackOptions = {}): Effect.Effect<string, BackendUnavailable> => {
  const command = options.command ?? "scontrol"
  return runSlurmCommand({ commandTimeoutMs: options.timeoutMs ?? 10_000 }, command, ["show", "config"]).pipe(
    Effect.flatMap((r) => {
      if (r.exitCode !== 0) return Effect.fail(unavailable(`${command} exited ${r.exitCode}: ${firstLine(r.stderr, r.stdout)}`))
      const value = proctrackTypeOf(r.stdout)
      return Either.isRight(value) ? Effect.succeed(value.right) : Effect.fail(unavailable(`${command} show config: ${value.left}`))
    })
  )
}

/**
 * At `ccat serve` start, for a served location on Slurm: a WARNING when the cluster's
 * ProctrackType is not safe, or when it cannot be read. Never fails: the backend's own probe
 * decides whether Slurm can be reached.
 */
export const warnUnlessSlurmEndsLeftovers = (options: SlurmProctrackOptions = {}): Effect.Effect<void> =>
  slurmProctrackType(options).pipe(
    Effect.flatMap((type) => {
      const warning = proctrackWarning(type)
      return warning === null
        ? Effect.logInfo(`Slurm's ProctrackType is ${type}: Slurm ends every process of a job when it ends`)
        : Effect.logWarning(warning)
    }),
    Effect.catchAll((e) =>
      Effect.logWarning(
        `could not read Slurm's ProctrackType (${e.reason}): make sure it is proctrack/cgroup (\`scontrol show config | grep ProctrackType\`), or processes a job leaves behind may change its products after they were checksummed`
      )
    )
  )
