import { Effect } from "effect"
import { execFile } from "node:child_process"
import { type BackendCalls, BackendUnavailable } from "./execution-backend.ts"
import type { SlurmBackendOptions } from "./slurm-options.ts"
import { slurmErrorText } from "./slurm-parse.ts"
import { slurmCommandEnvironment } from "./slurm-environment.ts"
import { shellQuote } from "./slurm-script.ts"

/*
 * Running one Slurm command, the only way the backend talks to Slurm: execFile (never a shell,
 * so a job name cannot become a command), with the location's prefix (sudo, ssh) and a timeout,
 * so that a dead controller is BackendUnavailable and never a hang. Every call is counted in
 * BackendCalls by kind (sbatch, squeue, sacct, scancel, scontrol, sinfo, id) for `/metrics` and
 * for the tests that prove a poll costs one squeue, not one per job.
 */

export const BACKEND = "slurm"
export const unavailable = (reason: string) => new BackendUnavailable({ backend: BACKEND, reason })

export interface CommandResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

export type SlurmCommandOptions = Pick<SlurmBackendOptions, "commandPrefix" | "remoteShell" | "commandTimeoutMs">

/** Run one Slurm command; a non-zero exit is returned, only "could not run it" fails. */
export const runSlurmCommand = (
  options: SlurmCommandOptions,
  command: string,
  args: ReadonlyArray<string>
): Effect.Effect<CommandResult, BackendUnavailable> => {
  const prefix = options.commandPrefix ?? []
  const full = options.remoteShell ? [command, ...args].map(shellQuote) : [command, ...args]
  const argv = [...prefix, ...full]
  const timeout = options.commandTimeoutMs ?? 30_000
  return Effect.async<CommandResult, BackendUnavailable>((resume, signal) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      {
        timeout,
        killSignal: "SIGKILL",
        maxBuffer: 256 * 1024 * 1024,
        env: slurmCommandEnvironment(),
        signal,
        encoding: "utf8",
        windowsHide: true
      },
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

/** A Slurm command as the backend's parts run it: counted, then run; the kind is the program. */
export type SlurmCommand = (kind: string, args: ReadonlyArray<string>) => Effect.Effect<CommandResult, BackendUnavailable>

export const countedSlurmCommand =
  (options: SlurmCommandOptions, calls: BackendCalls["Type"]): SlurmCommand =>
  (kind, args) =>
    Effect.zipRight(calls.count(kind), runSlurmCommand(options, kind, args))

/** A non-zero exit as BackendUnavailable: Slurm could not give an answer. */
export const failedCall = (kind: string, r: CommandResult) =>
  unavailable(`${kind} exited ${r.exitCode}: ${slurmErrorText(r.stderr, r.stdout)}`)

/** Lists of ids or names split into calls of at most `size`, so that argv stays short. */
export const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
