import { Clock, Effect, Ref } from "effect"
import type { SlurmCommand } from "./slurm-command.ts"
import { type SlurmBackendOptions, submitRateOf } from "./slurm-options.ts"
import type { SlurmPartition } from "./slurm-partitions.ts"

/*
 * Everything one Slurm backend remembers between calls, in one place and made once (by
 * makeSlurmBackend), so that a reader sees the whole memory of the backend at a glance and each
 * part (slurm-admission.ts, slurm-poll.ts, …) names in its signature the pieces it reads and
 * changes. Nothing here is shared between backends: two locations on Slurm keep two states.
 */

/** Where finished jobs' details come from: slurmdbd (sacct), the jobcomp file (sacct -c), or only the controller (scontrol). */
export type AccountingMode = "slurmdbd" | "jobcomp" | "controller"

/** The submit token bucket: tokens left when last counted, and when that was. */
export interface SubmitTokens {
  readonly tokens: number
  readonly at: number
}

/** The partitions as sinfo last described them, and when it did. */
export interface KnownPartitions {
  readonly at: number
  readonly partitions: ReadonlyArray<SlurmPartition>
}

export interface SlurmBackendState {
  readonly submitTokens: Ref.Ref<SubmitTokens>
  /** One submit at a time, so that the queue cap and the rate limit count every job. */
  readonly submitLock: Effect.Semaphore
  /** Ids of our jobs believed QUEUED (from submits and polls); refreshed with squeue when at the cap. */
  readonly queued: Ref.Ref<ReadonlySet<string>>
  readonly queueRefreshedAt: Ref.Ref<number>
  /** Starts at slurmdbd; only ever falls back (to jobcomp, then controller), never returns. */
  readonly accountingMode: Ref.Ref<AccountingMode>
  /** Jobs finished in squeue that accounting did not have yet, since when. */
  readonly lagSince: Ref.Ref<ReadonlyMap<string, number>>
  /** The user Slurm sees our commands as, once asked. */
  readonly submitter: Ref.Ref<string | null>
  readonly partitions: Ref.Ref<KnownPartitions | null>
}

/** A full bucket at start: a fresh backend may submit a burst of `submitRate` jobs at once. */
export const makeSlurmBackendState = (options: Pick<SlurmBackendOptions, "submitRate">): Effect.Effect<SlurmBackendState> =>
  Effect.gen(function* () {
    return {
      submitTokens: yield* Ref.make<SubmitTokens>({ tokens: submitRateOf(options) ?? 0, at: yield* Clock.currentTimeMillis }),
      submitLock: yield* Effect.makeSemaphore(1),
      queued: yield* Ref.make<ReadonlySet<string>>(new Set()),
      queueRefreshedAt: yield* Ref.make(0),
      accountingMode: yield* Ref.make<AccountingMode>("slurmdbd"),
      lagSince: yield* Ref.make<ReadonlyMap<string, number>>(new Map()),
      submitter: yield* Ref.make<string | null>(null),
      partitions: yield* Ref.make<KnownPartitions | null>(null)
    }
  })

/**
 * What a part of the backend works with: the Slurm command, the settings it reads (O) and the
 * pieces of state it reads or changes (S). makeSlurmBackend passes the same full context to
 * every part; the narrow type says what each one depends on.
 */
export interface SlurmContext<O extends keyof SlurmBackendOptions = never, S extends keyof SlurmBackendState = never> {
  readonly slurm: SlurmCommand
  readonly options: Pick<SlurmBackendOptions, O>
  readonly state: Pick<SlurmBackendState, S>
}
