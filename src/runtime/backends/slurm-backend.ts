import { Effect, Layer } from "effect"
import { BackendCalls, ExecutionBackend, type ExecutionBackendService } from "./execution-backend.ts"
import { capacity } from "./slurm-admission.ts"
import { cancel } from "./slurm-cancel.ts"
import { countedSlurmCommand } from "./slurm-command.ts"
import { findJobs } from "./slurm-find-jobs.ts"
import { limits } from "./slurm-limits.ts"
import type { SlurmBackendOptions } from "./slurm-options.ts"
import { poll } from "./slurm-poll.ts"
import { probe } from "./slurm-probe.ts"
import { makeSlurmBackendState } from "./slurm-state.ts"
import { submit } from "./slurm-submit.ts"
import { submitter } from "./slurm-submitter.ts"

export type { SlurmBackendOptions } from "./slurm-options.ts"
export type { CommandResult } from "./slurm-command.ts"

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
 *
 * This file only assembles the parts, each in a file named for what it does: slurm-command.ts
 * (running a command), slurm-admission.ts (rate limit, queue cap), slurm-submit.ts (sbatch),
 * slurm-accounting.ts (sacct, jobcomp, controller fallback), slurm-poll.ts, slurm-find-jobs.ts,
 * slurm-submitter.ts, slurm-cancel.ts, slurm-probe.ts and slurm-limits.ts. What the backend
 * remembers between calls is one state (slurm-state.ts), made here once and handed to each part.
 */

export const makeSlurmBackend = (options: SlurmBackendOptions = {}): Effect.Effect<ExecutionBackendService, never, BackendCalls> =>
  Effect.gen(function* () {
    const slurm = countedSlurmCommand(options, yield* BackendCalls)
    const state = yield* makeSlurmBackendState(options)
    const ctx = { slurm, options, state }
    return {
      kind: "slurm" as const,
      submit: (job) => submit(ctx, job),
      findJobs: (jobNames) => findJobs(ctx, jobNames),
      submitter: submitter(ctx),
      poll: (jobIds) => poll(ctx, jobIds),
      cancel: (jobId) => cancel(slurm, jobId),
      capacity: capacity(ctx),
      probe: probe(slurm),
      limits: (partition) => limits(ctx, partition)
    }
  })

/** The Slurm backend as the ExecutionBackend service (needs BackendCalls). */
export const SlurmBackendLive = (options: SlurmBackendOptions = {}): Layer.Layer<ExecutionBackend, never, BackendCalls> =>
  Layer.effect(ExecutionBackend, makeSlurmBackend(options))
