import { Data } from "effect"

/*
 * Everything that can stop ccat from using its database, each with a message that fits on one
 * line and says what to do. Details that come from elsewhere (a server, the file system) are
 * folded onto that line, so no error ever prints a stack trace or a multi-line dump.
 */

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()

export { innermostMessage } from "../error-message.ts"

const useEmbedded = "or unset CCAT_DATABASE_URL to use the embedded database"

export class DatabaseConfigInvalid extends Data.TaggedError("DatabaseConfigInvalid")<{ readonly detail: string }> {
  override get message(): string {
    return `invalid database configuration: ${oneLine(this.detail)}`
  }
}

export class DatabaseUrlInvalid extends Data.TaggedError("DatabaseUrlInvalid")<{ readonly reason: string }> {
  override get message(): string {
    return `CCAT_DATABASE_URL is not a valid PostgreSQL URL (${oneLine(this.reason)}): expected postgres://user[:password]@host[:port]/database, ${useEmbedded}`
  }
}

export class DatabaseUnreachable extends Data.TaggedError("DatabaseUnreachable")<{
  /** host:port */
  readonly address: string
  /** "connection refused", "host not found", "timed out", or the system's words */
  readonly reason: string
}> {
  override get message(): string {
    return `cannot reach PostgreSQL at ${this.address} (${oneLine(this.reason)}): check that the server is running and CCAT_DATABASE_URL names it, ${useEmbedded}`
  }
}

export class DatabaseAuthenticationFailed extends Data.TaggedError("DatabaseAuthenticationFailed")<{
  readonly address: string
  readonly user: string
  readonly detail: string
}> {
  override get message(): string {
    return `PostgreSQL at ${this.address} refused user "${this.user}" (${oneLine(this.detail)}): check the user and password in CCAT_DATABASE_URL`
  }
}

export class DatabaseNotFound extends Data.TaggedError("DatabaseNotFound")<{ readonly address: string; readonly database: string }> {
  override get message(): string {
    return `database "${this.database}" does not exist on ${this.address}: create it (createdb ${this.database}) or correct the name in CCAT_DATABASE_URL`
  }
}

export class SchemaNewerThanCcat extends Data.TaggedError("SchemaNewerThanCcat")<{
  readonly appliedId: number
  readonly appliedName: string
  readonly knownId: number
}> {
  override get message(): string {
    return `the database has migration ${this.appliedId} (${this.appliedName}) applied but this ccat knows only up to migration ${this.knownId}: upgrade ccat`
  }
}

export class MigrationFailed extends Data.TaggedError("MigrationFailed")<{ readonly migration: string; readonly detail: string }> {
  override get message(): string {
    return `migration ${this.migration} failed (${oneLine(this.detail)}); nothing was changed: report this with the ccat version`
  }
}

export class DatabaseQueryFailed extends Data.TaggedError("DatabaseQueryFailed")<{ readonly action: string; readonly detail: string }> {
  override get message(): string {
    return `database error while ${this.action}: ${oneLine(this.detail)}`
  }
}

export class EmbeddedDataDirNotWritable extends Data.TaggedError("EmbeddedDataDirNotWritable")<{
  readonly dir: string
  readonly detail: string
}> {
  override get message(): string {
    return `cannot use the embedded database folder ${this.dir} (${oneLine(this.detail)}): make it writable or set CCAT_DATA_DIR to another folder`
  }
}

export class EmbeddedOwnerNotAnswering extends Data.TaggedError("EmbeddedOwnerNotAnswering")<{
  readonly dir: string
  readonly pid: number
  /** host:port from server.json; absent when the owner never got as far as serving */
  readonly address?: string
}> {
  override get message(): string {
    const where = this.address === undefined ? "which has not started serving it" : `which does not answer on ${this.address}`
    // The pid may have been reused by an unrelated process: never advise killing it blindly.
    return `the embedded database in ${this.dir} belongs to process ${this.pid}, ${where}: if that is a hung ccat, stop it (kill ${this.pid}); if it is not ccat, delete ${this.dir}/pgdata.lock and ${this.dir}/server.json; then retry`
  }
}

export class EmbeddedDatabaseFailed extends Data.TaggedError("EmbeddedDatabaseFailed")<{ readonly dir: string; readonly detail: string }> {
  override get message(): string {
    return `cannot open the embedded database in ${this.dir} (${oneLine(this.detail)}): move the folder aside to start afresh, or set CCAT_DATABASE_URL to use a server`
  }
}

/** Problems of the embedded database's folder and its owner process. */
export type EmbeddedServerError = EmbeddedDataDirNotWritable | EmbeddedOwnerNotAnswering | EmbeddedDatabaseFailed

/** Why ccat could not connect to its database. */
export type DatabaseConnectError =
  | DatabaseConfigInvalid
  | DatabaseUrlInvalid
  | DatabaseUnreachable
  | DatabaseAuthenticationFailed
  | DatabaseNotFound
  | EmbeddedServerError

/** Why ccat could not bring the schema up to date. */
export type MigrateError = SchemaNewerThanCcat | MigrationFailed | DatabaseQueryFailed

export type DatabaseError = DatabaseConnectError | MigrateError
