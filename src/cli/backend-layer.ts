import { type ConfigError, Effect, Layer, type Queue } from "effect"
import { BackendCallsLive } from "../runtime/backends/backend-calls.ts"
import { type BackendCalls, BackendUnavailable, ExecutionBackend } from "../runtime/backends/execution-backend.ts"
import { LocalBackendLive } from "../runtime/backends/local-backend.ts"
import { SlurmBackendLive } from "../runtime/backends/slurm-backend.ts"
import { ExecutionConfig } from "../runtime/execution/execution-config.ts"
import { localRegistryDir } from "../runtime/execution/submit-loop.ts"
import type { BackendAccess } from "../runtime/ops/cancel.ts"
import { NoBackend } from "../runtime/ops/errors.ts"
import type { BackendKind } from "../runtime/serve/served-locations.ts"

/*
 * The execution backend of a location, configured as its definition declares it:
 * `backend local { max_parallel 2 }`, `backend slurm { partition "batch"  account "ccat"
 * qos "normal"  max_queued 400  submit_rate 60 }`. Every option a backend block accepts
 * (src/compiler/properties.ts) reaches the backend here; test/backend-options.test.ts holds
 * each one to it.
 *
 * Also the backend a run's job went to, as `ccat cancel` and the HTTP API's cancel reach it
 * (`backendOfJobPlace`): built here from the same options, so the two cannot differ.
 */

type Options = Readonly<Record<string, string | number>>

const text = (o: Options, key: string): string | undefined => (typeof o[key] === "string" ? o[key] : undefined)
const number = (o: Options, key: string): number | undefined => (typeof o[key] === "number" ? o[key] : undefined)

export const backendLayerFor = (
  kind: BackendKind,
  execution: ExecutionConfig,
  options: Options,
  jobEnded?: Queue.Queue<void>
): Layer.Layer<ExecutionBackend, never, BackendCalls> =>
  kind === "slurm"
    ? SlurmBackendLive({
        partition: text(options, "partition"),
        account: text(options, "account"),
        qos: text(options, "qos"),
        maxQueued: number(options, "max_queued"),
        submitRate: number(options, "submit_rate")
      })
    : LocalBackendLive({
        registryDir: localRegistryDir(execution),
        maxParallel: execution.maxParallel ?? number(options, "max_parallel") ?? 2,
        onJobEnd: jobEnded === undefined ? undefined : () => void jobEnded.unsafeOffer(undefined)
      })

/**
 * The backend of each job's place, as its location declares it: asked first whether it can be
 * reached at all, so that "unreachable" is said as such, naming the location.
 */
export const backendOfJobPlace: Effect.Effect<BackendAccess, ConfigError.ConfigError> = Effect.map(ExecutionConfig, (execution) => ({
  use: (place, f) => {
    if (place.kind !== "local" && place.kind !== "slurm") return Effect.fail(new NoBackend({ runId: place.runId, job: place.job }))
    const where = `${place.kind} backend of location ${place.location}`
    return Effect.flatMap(ExecutionBackend, (b) =>
      b.probe.pipe(
        Effect.mapError((e) => new BackendUnavailable({ backend: where, reason: `${e.reason} (cannot be reached here)` })),
        Effect.zipRight(f(b))
      )
    ).pipe(Effect.provide(backendLayerFor(place.kind, execution, place.options).pipe(Layer.provide(BackendCallsLive))))
  }
}))
