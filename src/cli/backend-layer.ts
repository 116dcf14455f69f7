import type { SqlClient } from "@effect/sql"
import { Effect, Layer, type Queue } from "effect"
import type { BackendCalls, ExecutionBackend } from "../runtime/backends/execution-backend.ts"
import { LocalBackendLive } from "../runtime/backends/local-backend.ts"
import { SlurmBackendLive } from "../runtime/backends/slurm-backend.ts"
import type { ExecutionConfig } from "../runtime/execution/execution-config.ts"
import { localRegistryDir } from "../runtime/execution/submit-loop.ts"
import { appliedIr } from "../runtime/gaps/applied-definitions.ts"

/*
 * The execution backend `CCAT_BACKEND` names, as `ccat serve` and `ccat cancel` use it, with
 * the options of the location this instance serves (`CCAT_LOCATION`; without it, the first
 * applied location whose backend is of that kind): `backend local { max_parallel 2 }`,
 * `backend slurm { partition "batch"  account "ccat"  max_queued 400  submit_rate 60 }`.
 */

type Options = Readonly<Record<string, string | number>>

const text = (o: Options, key: string): string | undefined => (typeof o[key] === "string" ? (o[key] as string) : undefined)
const number = (o: Options, key: string): number | undefined => (typeof o[key] === "number" ? (o[key] as number) : undefined)

/** The backend options of the location served, from the applied definitions (none before the first apply). */
export const locationBackendOptions = (execution: ExecutionConfig): Effect.Effect<Options, never, SqlClient.SqlClient> =>
  appliedIr.pipe(
    Effect.map((ir) => {
      const locations = ir?.locations ?? []
      const location =
        execution.location === null
          ? locations.find((l) => l.backend.kind === execution.backend)
          : locations.find((l) => l.name === execution.location && l.backend.kind === execution.backend)
      return location?.backend.options ?? {}
    }),
    Effect.orElseSucceed(() => ({}))
  )

export const backendLayerFor = (execution: ExecutionConfig, options: Options, jobEnded?: Queue.Queue<void>): Layer.Layer<ExecutionBackend, never, BackendCalls> =>
  execution.backend === "slurm"
    ? SlurmBackendLive({
        partition: text(options, "partition"),
        account: text(options, "account"),
        maxQueued: number(options, "max_queued"),
        submitRate: number(options, "submit_rate")
      })
    : LocalBackendLive({
        registryDir: localRegistryDir(execution),
        maxParallel: execution.maxParallel ?? number(options, "max_parallel") ?? 2,
        onJobEnd: jobEnded === undefined ? undefined : () => void jobEnded.unsafeOffer(undefined)
      })

/** backendLayerFor with the options read from the database. */
export const configuredBackendLayer = (execution: ExecutionConfig, jobEnded?: Queue.Queue<void>): Layer.Layer<ExecutionBackend, never, BackendCalls | SqlClient.SqlClient> =>
  Layer.unwrapEffect(Effect.map(locationBackendOptions(execution), (options) => backendLayerFor(execution, options, jobEnded)))
