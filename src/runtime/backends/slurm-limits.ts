import { Clock, Effect, Either, Ref } from "effect"
import type { ResourceLimits } from "./execution-backend.ts"
import { parseSinfoPartitions, sinfoArguments } from "./slurm-partitions.ts"
import type { SlurmContext } from "./slurm-state.ts"

/*
 * The most a job may ask for in a partition: what a retry policy that grows resources is held
 * to, so that a retry never asks for more than the partition has and pends forever. Only advice:
 * when sinfo cannot be asked or read the answer is null (nothing is capped), never an error.
 */

/** Partitions change rarely; asking sinfo at most every 5 minutes keeps checks cheap. */
const partitionsMaxAgeMs = 5 * 60_000

export const limits = (ctx: SlurmContext<"partition", "partitions">, partition: string | null): Effect.Effect<ResourceLimits | null> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const cached = yield* Ref.get(ctx.state.partitions)
    let partitions = cached !== null && now - cached.at < partitionsMaxAgeMs ? cached.partitions : null
    if (partitions === null) {
      const r = yield* ctx.slurm("sinfo", sinfoArguments)
      if (r.exitCode !== 0) return null
      const parsed = parseSinfoPartitions(r.stdout)
      if (Either.isLeft(parsed)) return null
      partitions = parsed.right
      yield* Ref.set(ctx.state.partitions, { at: now, partitions })
    }
    const wanted = partition ?? ctx.options.partition ?? null
    const p = partitions.find((x) => (wanted === null ? x.isDefault : x.name === wanted))
    if (p === undefined) return null
    return {
      cpus: p.maxCpusPerNode,
      memoryBytes: p.maxMemoryMiBPerNode === null ? null : p.maxMemoryMiBPerNode * 1024 * 1024,
      timeSeconds: p.maxTimeSeconds
    }
  }).pipe(Effect.orElseSucceed(() => null))
