import { join } from "node:path"
import type { ContainerSpec, JobSpec } from "../backends/execution-backend.ts"
import type { JobIdentity } from "./job-identity.ts"
import type { AttemptLimits } from "./retry-policy.ts"
import type { RunFolders } from "./run-folders.ts"

/*
 * The job of one staged attempt, as the backend gets it (execution-backend.ts): its argv, the
 * WORKFLOW_* environment of the container contract (docs/design/domain.md §5), its folders, and,
 * in Apptainer, which host folder is bound where and whether the program may write it. Pure:
 * stage-run.ts calls it once the attempt is staged.
 */

/** How the location runs programs. */
export interface ProgramRuntime {
  /** Run programs in Apptainer (the location asks for it and it is installed) or directly. */
  readonly container: "apptainer" | "none"
  /** Prepended to PATH for programs run directly. */
  readonly softwarePath: ReadonlyArray<string>
}

/** The attempt to stage: its number, its job's name and comment, and what it asks of the backend. */
export interface AttemptToStage {
  readonly attempt: number
  readonly identity: JobIdentity
  /** The step's resources and timeout, grown by its retry policy for this attempt (retry-policy.ts). */
  readonly limits: AttemptLimits
}

/** PATH when the inherited environment has none. */
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

/**
 * The program's extra environment: where its folders are as it sees them (`seen`), which run
 * and attempt it is, and, run directly, a PATH with the location's software folders first
 * (`inheritedPath`: the PATH of this process). In a container the image's own PATH stays.
 */
export const jobEnvironment = (
  runId: number,
  runtime: ProgramRuntime,
  attempt: AttemptToStage,
  seen: RunFolders,
  inheritedPath: string | undefined
): Readonly<Record<string, string>> => ({
  WORKFLOW_OUTPUT_DIR: seen.output,
  WORKFLOW_MANIFEST: seen.manifest,
  WORKFLOW_INPUT_DIR: seen.input,
  WORKFLOW_WORKSPACE_DIR: seen.workspace,
  WORKFLOW_LOGS_DIR: seen.logs,
  CCAT_RUN_ID: String(runId),
  CCAT_ATTEMPT: String(attempt.attempt),
  CCAT_JOB_NAME: attempt.identity.name,
  ...(runtime.container === "none" ? { PATH: [...runtime.softwarePath, inheritedPath ?? defaultPath].join(":") } : {})
})

/** In Apptainer: the image, and the attempt's folders bound at /workflow/...; inputs and config read-only. */
export const containerSpec = (runtime: ProgramRuntime, image: string, folders: RunFolders): ContainerSpec =>
  runtime.container === "apptainer"
    ? {
        runtime: "apptainer",
        image,
        binds: [
          { host: folders.input, container: "/workflow/input", readOnly: true },
          { host: folders.workspace, container: "/workflow/workspace", readOnly: false },
          { host: join(folders.root, "output"), container: "/workflow/output", readOnly: false },
          { host: folders.config, container: "/workflow/config", readOnly: true },
          { host: folders.logs, container: "/workflow/logs", readOnly: false }
        ]
      }
    : { runtime: "none" }

/** The job of an attempt: `folders` on the host, `seen` as the program sees them. */
export const jobSpec = (
  run: { readonly runId: number; readonly image: string },
  runtime: ProgramRuntime,
  attempt: AttemptToStage,
  argv: ReadonlyArray<string>,
  folders: RunFolders,
  seen: RunFolders,
  inheritedPath: string | undefined
): JobSpec => ({
  runId: run.runId,
  attempt: attempt.attempt,
  jobName: attempt.identity.name,
  comment: attempt.identity.comment,
  argv,
  env: jobEnvironment(run.runId, runtime, attempt, seen, inheritedPath),
  runDir: folders.root,
  stdoutPath: folders.stdout,
  stderrPath: folders.stderr,
  resources: attempt.limits.resources,
  timeoutSeconds: attempt.limits.timeoutSeconds,
  container: containerSpec(runtime, run.image, folders)
})
