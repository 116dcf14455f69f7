import { Layer, type Queue } from "effect"
import type { BackendCalls, ExecutionBackend } from "../runtime/backends/execution-backend.ts"
import { LocalBackendLive } from "../runtime/backends/local-backend.ts"
import type { ExecutionConfig } from "../runtime/execution/execution-config.ts"
import { localRegistryDir } from "../runtime/execution/submit-loop.ts"

/** The execution backend `CCAT_BACKEND` names, as `ccat serve` and `ccat cancel` use it. */
export const backendLayerFor = (execution: ExecutionConfig, jobEnded?: Queue.Queue<void>): Layer.Layer<ExecutionBackend, never, BackendCalls> =>
  LocalBackendLive({
    registryDir: localRegistryDir(execution),
    maxParallel: execution.maxParallel ?? 2,
    onJobEnd: jobEnded === undefined ? undefined : () => void jobEnded.unsafeOffer(undefined)
  })

