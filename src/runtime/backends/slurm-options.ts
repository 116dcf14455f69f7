/*
 * The Slurm backend's settings (from a location's backend options). In a file of their own so
 * that each part of the backend (slurm-command.ts, slurm-admission.ts, …) can read the settings
 * it needs without importing the assembly in slurm-backend.ts.
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

/** Submissions per minute, or null when submits are not rate limited. */
export const submitRateOf = (options: Pick<SlurmBackendOptions, "submitRate">): number | null =>
  options.submitRate !== undefined && options.submitRate > 0 ? options.submitRate : null

/** Ids or names per squeue/sacct call. */
export const idsPerCall = (options: Pick<SlurmBackendOptions, "maxIdsPerCall">): number => Math.max(1, options.maxIdsPerCall ?? 1000)
