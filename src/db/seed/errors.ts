import { Data } from "effect"

/** `--more` needs the demo observatory to add a night to. */
export class DemoNotSeeded extends Data.TaggedError("DemoNotSeeded")<{}> {
  override get message(): string {
    return "the demo dataset is not in this database yet: run `ccat db seed --demo` first"
  }
}

/** The demo only goes into a database without observation data of its own: it would mix with real rows. */
export class DatabaseNotEmpty extends Data.TaggedError("DatabaseNotEmpty")<{ readonly table: string }> {
  override get message(): string {
    return `the database already holds observation data (table ${this.table}) that is not the demo dataset; seed an empty database instead`
  }
}

export class ArchiveWriteError extends Data.TaggedError("ArchiveWriteError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `cannot write the demo archive file ${this.path}: ${this.reason}`
  }
}

export class InvalidSeedOption extends Data.TaggedError("InvalidSeedOption")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

export type SeedError = DemoNotSeeded | DatabaseNotEmpty | ArchiveWriteError | InvalidSeedOption
