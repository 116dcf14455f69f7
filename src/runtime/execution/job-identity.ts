import type { FoundJob, JobState } from "../backends/execution-backend.ts"

/*
 * Which job is a run's (the result-integrity issue, item 1). A job's name and comment say which
 * installation (ops-db), run and attempt it is; the run is marked with that name before the
 * backend hears of the job. After a crash between the two, a job found under the name is
 * adopted only when everything matches:
 *
 *   - its name, and its comment (installation id, run id, attempt), exactly;
 *   - its user: the one this backend submits as;
 *   - its submission time: at or after the mark (less a second: Slurm keeps whole seconds).
 *
 * Anything else under that name is somebody else's (another database that used the same run
 * ids, an old job of an earlier life of this one, a person's job named like ours): it is
 * reported, never adopted. Failing safe costs at most a program run twice in separate folders;
 * adopting a stranger's job would record its result as ours.
 */

export interface JobIdentity {
  readonly name: string
  readonly comment: string
}

/** The job of a run's attempt: `ccat-<first 8 of the installation id>-<run id>-<attempt>`, and the whole id in the comment. */
export const jobIdentity = (installationId: string, runId: number, attempt: number): JobIdentity => ({
  name: `ccat-${installationId.replace(/-/g, "").slice(0, 8)}-${runId}-${attempt}`,
  comment: `ccat installation=${installationId} run=${runId} attempt=${attempt}`
})

/** The name prefix of every job of one installation: for counting our queued jobs. */
export const jobNamePrefix = (installationId: string): string => `ccat-${installationId.replace(/-/g, "").slice(0, 8)}-`

export interface ExpectedJob extends JobIdentity {
  readonly user: string
  /** When the run was marked with this job name. */
  readonly markedAt: Date
}

export interface RejectedJob {
  readonly job: FoundJob
  readonly why: string
}

export interface Verdict {
  /** The job to adopt, if one passed every check. */
  readonly adopt: FoundJob | null
  /** Jobs under the name that are not ours (or a second one of ours: reported, not adopted). */
  readonly rejected: ReadonlyArray<RejectedJob>
}

/** Slurm reports submission times in whole seconds. */
const submitTimeResolutionMs = 1000

const inFlight = (s: JobState): boolean => s === "QUEUED" || s === "RUNNING" || s === "REQUEUED" || s === "PREEMPTED"

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z")

/** Why `job` is not the expected one; `null` when it is. */
export const mismatch = (expected: ExpectedJob, job: FoundJob): string | null => {
  if (job.jobName !== expected.name) return `its name is ${JSON.stringify(job.jobName)}, not ${JSON.stringify(expected.name)}`
  if (job.user !== expected.user)
    return job.user === null
      ? "the backend does not say who submitted it"
      : `it was submitted by user ${JSON.stringify(job.user)}, not ${JSON.stringify(expected.user)}`
  if (job.comment !== expected.comment) {
    return job.comment === null || job.comment === ""
      ? "it has no comment to prove whose it is (Slurm keeps job comments in accounting only with AccountingStoreFlags=job_comment)"
      : `its comment is ${JSON.stringify(job.comment)}, not ${JSON.stringify(expected.comment)}`
  }
  if (job.submittedAt === null) return "the backend does not say when it was submitted"
  if (job.submittedAt.getTime() < expected.markedAt.getTime() - submitTimeResolutionMs) {
    return `it was submitted at ${iso(job.submittedAt)}, before this attempt was marked (${iso(expected.markedAt)})`
  }
  return null
}

/** Decide which of the jobs found under the expected name, if any, is the run's own. */
export const judgeFoundJobs = (expected: ExpectedJob, found: ReadonlyArray<FoundJob>): Verdict => {
  const rejected: Array<RejectedJob> = []
  const ours: Array<FoundJob> = []
  for (const job of found) {
    const why = mismatch(expected, job)
    if (why === null) ours.push(job)
    else rejected.push({ job, why })
  }
  // Two of ours under one attempt's name cannot happen (one submission per mark); should it, the
  // one in flight (else the newest) is adopted and the other reported.
  ours.sort(
    (a, b) =>
      Number(inFlight(b.state)) - Number(inFlight(a.state)) ||
      (b.submittedAt?.getTime() ?? 0) - (a.submittedAt?.getTime() ?? 0) ||
      b.jobId.localeCompare(a.jobId, "en", { numeric: true })
  )
  const [adopt, ...extra] = ours
  for (const job of extra) rejected.push({ job, why: `job ${adopt!.jobId} under the same name was adopted instead` })
  return { adopt: adopt ?? null, rejected }
}

/** The run event that reports a job found under the run's name and not adopted. */
export const notAdoptedReason = (r: RejectedJob): string =>
  `NOT_ADOPTED: job ${r.job.jobId} (${r.job.jobName}, ${r.job.state}) is not this run's: ${r.why}`
