import { Data } from "effect"

/*
 * What the operator commands (status, runs, logs, cancel, retry, lineage) refuse, each with a
 * message that fits on one line and says what to do. The commands print `error: <message>` and
 * exit 1.
 */

export class UnknownRun extends Data.TaggedError("UnknownRun")<{ readonly runId: number }> {
  override get message(): string {
    return `no run ${this.runId} in the database (\`ccat runs\` lists them)`
  }
}

export class UnknownProduct extends Data.TaggedError("UnknownProduct")<{ readonly what: string }> {
  override get message(): string {
    return `no data product ${this.what}`
  }
}

/** A `--pipeline` or `--step` filter that names nothing that was ever applied. */
export class UnknownName extends Data.TaggedError("UnknownName")<{
  readonly kind: "pipeline" | "step"
  readonly name: string
  readonly known: ReadonlyArray<string>
}> {}

/** `ccat logs` of a run that has no folder yet, or whose log file is not there (yet). */
export class LogUnavailable extends Data.TaggedError("LogUnavailable")<{ readonly runId: number; readonly detail: string }> {
  override get message(): string {
    return `run ${this.runId} ${this.detail}`
  }
}

/** `ccat cancel` of a run that has ended, or that cannot be cancelled in its status. */
export class NotCancellable extends Data.TaggedError("NotCancellable")<{ readonly runId: number; readonly status: string }> {
  override get message(): string {
    if (this.status === "COLLECTING_RESULTS") {
      return (
        `run ${this.runId} is COLLECTING_RESULTS and cannot be cancelled: its job has already ended and its products ` +
        "are being recorded; it will be COMPLETED or FAILED within moments"
      )
    }
    return `run ${this.runId} is ${this.status}; nothing to cancel`
  }
}

/** The run's job may be on the backend, and no backend was given to this command. */
export class NoBackend extends Data.TaggedError("NoBackend")<{ readonly runId: number; readonly job: string }> {
  override get message(): string {
    return `run ${this.runId} has a job on the backend (${this.job}) and no backend is configured here to cancel it`
  }
}

/** `ccat retry` of a run that is not FAILED or CANCELLED, or whose step is retired. */
export class NotRetryable extends Data.TaggedError("NotRetryable")<{ readonly runId: number; readonly why: string }> {
  override get message(): string {
    return `run ${this.runId} cannot be retried: ${this.why}`
  }
}

/** Another run of the same (step, sub-group) is in flight: at most one may be (index run_one_in_flight). */
export class OtherRunInFlight extends Data.TaggedError("OtherRunInFlight")<{
  readonly runId: number
  readonly other: { readonly id: number; readonly status: string } | null
  readonly target: string
}> {
  override get message(): string {
    const other = this.other === null ? "another run" : `run ${this.other.id}`
    const status = this.other === null ? "in flight" : this.other.status
    return (
      `run ${this.runId} cannot be retried while ${other} of ${this.target} is ${status}: at most one run per step and ` +
      `sub-group may be in flight; retry after it ends${this.other === null ? "" : `, or \`ccat cancel ${this.other.id}\` first`}`
    )
  }
}
