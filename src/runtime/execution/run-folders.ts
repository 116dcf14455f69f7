import { Either } from "effect"
import { join } from "node:path"
import { confinedPath, type PathEscape } from "./confined-path.ts"

/*
 * A run attempt's folder on the processing location. Every attempt of a run (a retry, a
 * submission begun again after a crash or a full disk) has its own, so that nothing an earlier
 * attempt left behind, nor a job of it that still runs, can become this attempt's result; the
 * run's `run_dir` is the folder of its latest attempt, and its products are paths below it:
 *
 *   {base}/{pipeline}/{step}/{sub_group_key}/run-{id}/attempt-{n}/
 *     input/{package}/{file}                     raw inputs (read-only copies, never the archive's own files)
 *     workspace/{step}/                          this step's output when it is not final
 *     workspace/{upstream step}/{sub_group}/...  upstream products it reads (read-only copies)
 *     output/{science,qa,plots,statistics,logs}/ a final step's products
 *     config/manifest.json
 *     logs/                                      the job's stdout and stderr, the batch script
 *
 * Inside a container these are /workflow/input, /workflow/workspace, /workflow/output,
 * /workflow/config and /workflow/logs (docs/design/domain.md §5, the container contract; layout: docs/design/runtime.md §3.6). Sub-group keys are
 * path-safe by construction (src/runtime/selection/sub-group-key.ts), and pipeline and step
 * names are identifiers; all three are still read back from the database, so each is held to
 * its folder (confined-path.ts) before the run folder is made.
 */

export interface RunFolders {
  readonly root: string
  readonly input: string
  readonly workspace: string
  /** Where this run writes: workspace/{step} (intermediate) or output (final). */
  readonly output: string
  readonly config: string
  readonly manifest: string
  readonly logs: string
  readonly stdout: string
  readonly stderr: string
}

/** The run's folder, or the PathEscape of the first of its names that would leave its folder. */
export const runRoot = (
  baseDir: string,
  pipeline: string,
  step: string,
  subGroupKey: string,
  runId: number
): Either.Either<string, PathEscape> =>
  Either.gen(function* () {
    const pipelineDir = yield* confinedPath(baseDir, pipeline, "the pipeline name")
    const stepDir = yield* confinedPath(pipelineDir, step, "the step name")
    const subGroupDir = yield* confinedPath(stepDir, subGroupKey, `the sub-group key of run ${runId}`)
    return join(subGroupDir, `run-${runId}`)
  })

/** The folder of one attempt of a run. */
export const attemptRoot = (runRootDir: string, attempt: number): string => join(runRootDir, `attempt-${attempt}`)

export const runFolders = (root: string, step: string, final: boolean): RunFolders => ({
  root,
  input: join(root, "input"),
  workspace: join(root, "workspace"),
  output: final ? join(root, "output") : join(root, "workspace", step),
  config: join(root, "config"),
  manifest: join(root, "config", "manifest.json"),
  logs: join(root, "logs"),
  stdout: join(root, "logs", "stdout.txt"),
  stderr: join(root, "logs", "stderr.txt")
})

/** The same folders as a program inside a container sees them. */
export const containerFolders = (step: string, final: boolean): RunFolders => ({
  ...runFolders("/workflow", step, final),
  stdout: "/workflow/logs/stdout.txt",
  stderr: "/workflow/logs/stderr.txt"
})

/** Output subfolders and the product type of the files in them. */
export const productFolders = { science: "SCIENCE", qa: "QA_METRIC", plots: "PLOT", statistics: "STATISTICS", logs: "LOG" } as const
