import { describe, expect, it } from "vitest"
import type { FoundJob } from "../src/runtime/backends/execution-backend.ts"
import { jobIdentity, judgeFoundJobs, notAdoptedReason } from "../src/runtime/execution/job-identity.ts"

// Which job found under a run's name is the run's own: name, comment, user and submission time
// must all match; everything else is reported, never adopted.

const installation = "3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
const markedAt = new Date("2026-12-07T13:15:39.800Z")
const expected = { ...jobIdentity(installation, 12, 2), user: "ccat", markedAt }

const job = (over: Partial<FoundJob> = {}): FoundJob => ({
  jobId: "100",
  jobName: expected.name,
  state: "RUNNING",
  user: "ccat",
  comment: expected.comment,
  submittedAt: new Date("2026-12-07T13:15:40Z"),
  ...over
})

describe("job identity", () => {
  it("names a job by installation, run and attempt, and says all three in its comment", () => {
    expect(jobIdentity(installation, 12, 2)).toEqual({
      name: "ccat-3f2a9c1e-12-2",
      comment: `ccat installation=${installation} run=12 attempt=2`
    })
  })

  it("adopts the job whose name, comment, user and submission time all match (Slurm's whole seconds allowed for)", () => {
    // Submitted within the second of the mark: Slurm shows 13:15:39, before the mark's .800.
    const sameSecond = job({ submittedAt: new Date("2026-12-07T13:15:39Z") })
    expect(judgeFoundJobs(expected, [sameSecond])).toEqual({ adopt: sameSecond, rejected: [] })
  })

  it("reports every other job under the name, with why, and adopts none of them", () => {
    const strangers = [
      job({ jobId: "1", comment: "ccat installation=another run=12 attempt=2" }),
      job({ jobId: "2", user: "alice" }),
      job({ jobId: "3", comment: null }),
      job({ jobId: "4", submittedAt: new Date("2026-12-07T13:15:37Z") }),
      job({ jobId: "5", submittedAt: null }),
      job({ jobId: "6", user: null })
    ]
    const verdict = judgeFoundJobs(expected, strangers)
    expect(verdict.adopt).toBeNull()
    expect(verdict.rejected.map((r) => [r.job.jobId, r.why])).toEqual([
      ["1", `its comment is "ccat installation=another run=12 attempt=2", not "${expected.comment}"`],
      ["2", 'it was submitted by user "alice", not "ccat"'],
      ["3", "it has no comment to prove whose it is (Slurm keeps job comments in accounting only with AccountingStoreFlags=job_comment)"],
      ["4", "it was submitted at 2026-12-07T13:15:37Z, before this attempt was marked (2026-12-07T13:15:39Z)"],
      ["5", "the backend does not say when it was submitted"],
      ["6", "the backend does not say who submitted it"]
    ])
    expect(notAdoptedReason(verdict.rejected[0]!)).toBe(
      `NOT_ADOPTED: job 1 (${expected.name}, RUNNING) is not this run's: its comment is "ccat installation=another run=12 attempt=2", not "${expected.comment}"`
    )
  })

  it("of two jobs of ours under one name (cannot happen), adopts the one in flight and reports the other", () => {
    const ended = job({ jobId: "7", state: "COMPLETED", submittedAt: new Date("2026-12-07T13:15:45Z") })
    const running = job({ jobId: "8", state: "RUNNING" })
    const verdict = judgeFoundJobs(expected, [ended, running])
    expect(verdict.adopt?.jobId).toBe("8")
    expect(verdict.rejected.map((r) => [r.job.jobId, r.why])).toEqual([["7", "job 8 under the same name was adopted instead"]])
  })
})
