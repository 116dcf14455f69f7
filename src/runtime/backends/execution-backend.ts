import { Context, Data, type Effect } from "effect"
import type { IrResources } from "../../compiler/ir.ts"

/*
 * One interface for every place a run's program can execute (docs/design/runtime.md §4.1): submit a job,
 * find jobs by name (to adopt a job submitted just before a crash: the caller decides from what
 * the backend reports of each whether it is ours, src/runtime/execution/job-identity.ts), poll
 * many jobs at once, and cancel. The submit and collect loops know nothing else about a backend.
 *
 * Safety: a job is described as an argv array and an environment, never as shell text. A
 * backend that must write a script (Slurm) quotes every element itself; none may hand a value
 * to a shell unquoted.
 */

/** A folder the program sees under another name inside a container. */
export interface Bind {
  readonly host: string
  readonly container: string
  readonly readOnly: boolean
}

export type ContainerSpec =
  | { readonly runtime: "none" }
  | { readonly runtime: "apptainer"; readonly image: string; readonly binds: ReadonlyArray<Bind> }

export interface JobSpec {
  readonly runId: number
  /** The run's attempt this job is (1, 2, ...): each has its own folder and name. */
  readonly attempt: number
  /** `ccat-<installation>-<run id>-<attempt>`: unique, and how a job is found again after a crash. */
  readonly jobName: string
  /** Installation, run and attempt in words: what proves a job found by name is ours. */
  readonly comment: string
  /** The program and its arguments, placeholders already filled in. */
  readonly argv: ReadonlyArray<string>
  /** Extra environment of the program (WORKFLOW_OUTPUT_DIR and friends). */
  readonly env: Readonly<Record<string, string>>
  /** The run's folder on the host; the job's working directory. */
  readonly runDir: string
  /** Host paths of the job's standard output and error, in the run's log folder. */
  readonly stdoutPath: string
  readonly stderrPath: string
  readonly resources: IrResources
  readonly timeoutSeconds: number | null
  readonly container: ContainerSpec
}

/**
 * Where a job is. QUEUED and RUNNING are in flight; PREEMPTED and REQUEUED are not failures
 * (the job will run again); the rest are ends. UNKNOWN: the backend answered but could not say.
 */
export type JobState =
  | "QUEUED"
  | "RUNNING"
  | "PREEMPTED"
  | "REQUEUED"
  | "COMPLETED"
  | "FAILED"
  | "TIMEOUT"
  | "OUT_OF_MEMORY"
  | "NODE_FAIL"
  | "CANCELLED"
  | "UNKNOWN"

export const finishedStates: ReadonlySet<JobState> = new Set(["COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "CANCELLED"])

export interface JobStatus {
  readonly jobId: string
  readonly state: JobState
  readonly exitCode: number | null
  readonly wallSeconds: number | null
  readonly cpuSeconds: number | null
  readonly maxRssBytes: number | null
}

/** A job the backend knows under a name asked for, with what it says of who submitted it and when. */
export interface FoundJob {
  readonly jobId: string
  readonly jobName: string
  readonly state: JobState
  /** The user who submitted it; `null` when the backend cannot say. */
  readonly user: string | null
  /** The job's comment; `null` when the backend does not keep it (Slurm accounting without job_comment). */
  readonly comment: string | null
  /** When it was submitted (Slurm: to the second); `null` when unknown. */
  readonly submittedAt: Date | null
}

/** What a cancel did: the job was cancelled, had already ended, or the backend does not know it. */
export type CancelOutcome = "cancelled" | "ended" | "unknown"

/**
 * The backend could not be asked (controller down, command missing, a queue cap or submit
 * limit for now): the caller retries later. From `submit`, `notSubmitted` says the job surely
 * did not reach the backend (without it, it may have: ask by name before submitting again).
 */
export class BackendUnavailable extends Data.TaggedError("BackendUnavailable")<{
  readonly backend: string
  readonly reason: string
  readonly notSubmitted?: boolean
}> {
  override get message(): string {
    return `${this.backend} backend unavailable: ${this.reason}`
  }
}

/** The backend refused this job (bad resources, unknown partition): the run fails with this reason. */
export class JobRejected extends Data.TaggedError("JobRejected")<{ readonly backend: string; readonly reason: string }> {
  override get message(): string {
    return `${this.backend} refused the job: ${this.reason}`
  }
}

export interface ExecutionBackendService {
  readonly kind: "local" | "slurm"
  /** Submit; returns the backend's job id. */
  readonly submit: (job: JobSpec) => Effect.Effect<string, BackendUnavailable | JobRejected>
  /**
   * Every job the backend knows (queued, running or finished recently) under each of the given
   * names, whoever submitted it: whether one is ours is the caller's decision.
   */
  readonly findJobs: (jobNames: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, ReadonlyArray<FoundJob>>, BackendUnavailable>
  /** The user this backend submits jobs as: a job of ours was submitted by this user. */
  readonly submitter: Effect.Effect<string, BackendUnavailable>
  /**
   * The status of each job id the backend knows, in as few calls as it can (Slurm: one squeue,
   * then one sacct for those that left the queue). A job missing from the answer is unknown to
   * the backend: the caller decides when that makes it LOST.
   */
  readonly poll: (jobIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, JobStatus>, BackendUnavailable>
  /** Cancel a job; says what became of it, so that nobody reports a cancel that did nothing. */
  readonly cancel: (jobId: string) => Effect.Effect<CancelOutcome, BackendUnavailable>
  /**
   * How many more jobs it takes now (free local slots; Slurm: the queue cap minus the jobs it
   * knows are queued), or `null` when it cannot tell. The submit loop stages no more than this.
   */
  readonly capacity: Effect.Effect<number | null, BackendUnavailable>
  /** Whether the backend can be reached from here at all (Slurm: the controller answers); asked once at `serve` start. */
  readonly probe: Effect.Effect<void, BackendUnavailable>
  /**
   * The most a job may ask for in `partition` (null: the default one): what a retry policy that
   * grows resources is held to. `null` when the backend cannot tell (then nothing is capped).
   */
  readonly limits: (partition: string | null) => Effect.Effect<ResourceLimits | null>
}

/** The largest node of a partition, and its time limit; null where unknown or unlimited. */
export interface ResourceLimits {
  readonly cpus: number | null
  readonly memoryBytes: number | null
  readonly timeSeconds: number | null
}

export class ExecutionBackend extends Context.Tag("ccat/ExecutionBackend")<ExecutionBackend, ExecutionBackendService>() {}

/** Calls each backend makes, by kind (`sbatch`, `squeue`, `sacct`, `scancel`, `spawn`, ...), for /metrics and tests. */
export class BackendCalls extends Context.Tag("ccat/BackendCalls")<
  BackendCalls,
  { readonly count: (kind: string) => Effect.Effect<void>; readonly snapshot: Effect.Effect<ReadonlyMap<string, number>> }
>() {}
