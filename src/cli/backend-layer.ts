import { Layer, type Queue } from "effect"
import type { BackendCalls, ExecutionBackend } from "../runtime/backends/execution-backend.ts"
import { LocalBackendLive } from "../runtime/backends/local-backend.ts"
import { SlurmBackendLive } from "../runtime/backends/slurm-backend.ts"
import type { ExecutionConfig } from "../runtime/execution/execution-config.ts"
import { localRegistryDir } from "../runtime/execution/submit-loop.ts"
import type { BackendKind } from "../runtime/serve/served-locations.ts"

/*
 * The execution backend of a location, configured as its definition declares it:
 * `backend local { max_parallel 2 }`, `backend slurm { partition "batch"  account "ccat"
 * qos "normal"  max_queued 400  submit_rate 60 }`. Every option a backend block accepts
 * (src/compiler/properties.ts) reaches the backend here; test/backend-options.test.ts holds
 * each one to it.
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
