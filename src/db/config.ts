import { Config, Data, Option, Redacted } from "effect"
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

/** Where the operations database lives: a PostgreSQL server, or the embedded one under `dataDir`. */
export interface DatabaseConfig {
  /** `CCAT_DATABASE_URL`; none means the embedded database. */
  readonly url: Option.Option<Redacted.Redacted<string>>
  /** The embedded database's folder, absolute; also where runs and the demo archive go by default. */
  readonly dataDir: string
}

/**
 * How `dataDir` was chosen: named by `CCAT_DATA_DIR`; found (the nearest `.ccat/` holding an
 * embedded database, in the working folder or above); or, none found, `.ccat/` in the working
 * folder, which only the commands that create a database may make.
 */
export type DataDirChoice = "CCAT_DATA_DIR" | "found" | "none found"

/** The configuration read from the environment, saying how its folder was chosen. */
export interface EnvironmentDatabaseConfig extends DatabaseConfig {
  readonly dataDirChoice: DataDirChoice
}

export const defaultDataDir = ".ccat"

/** PGlite's own folder inside the data dir (embedded-server.ts). */
export const pgliteFolder = "pgdata"

/**
 * Whether `dataDir` holds an embedded database: PGlite's folder, or the lock of a process that
 * is making it right now (a second command started meanwhile must find it, not refuse).
 */
export const holdsEmbeddedDatabase = (dataDir: string): boolean =>
  existsSync(join(dataDir, pgliteFolder)) || existsSync(join(dataDir, `${pgliteFolder}.lock`))

/** The nearest `.ccat/` holding an embedded database, from `folder` up to the root, as git finds `.git`. */
export const findDataDir = (folder: string): Option.Option<string> => {
  let current = resolve(folder)
  for (;;) {
    const candidate = join(current, defaultDataDir)
    if (holdsEmbeddedDatabase(candidate)) return Option.some(candidate)
    const parent = dirname(current)
    if (parent === current) return Option.none()
    current = parent
  }
}

/**
 * The search runs when the configuration is read (a few `stat`s, nothing written), so that every
 * reader of the data dir (the database, the runs folder, the language server) agrees on it.
 */
const chooseDataDir = (variable: Option.Option<string>): Pick<EnvironmentDatabaseConfig, "dataDir" | "dataDirChoice"> => {
  if (Option.isSome(variable)) return { dataDir: resolve(variable.value), dataDirChoice: "CCAT_DATA_DIR" }
  return Option.match(findDataDir(process.cwd()), {
    onSome: (dataDir) => ({ dataDir, dataDirChoice: "found" }),
    onNone: () => ({ dataDir: resolve(defaultDataDir), dataDirChoice: "none found" })
  })
}

export const DatabaseConfig: Config.Config<EnvironmentDatabaseConfig> = Config.all({
  // An empty value counts as unset, so `CCAT_DATABASE_URL= ccat …` reaches the embedded database.
  url: Config.option(Config.redacted("CCAT_DATABASE_URL")).pipe(Config.map(Option.filter((url) => Redacted.value(url).trim() !== ""))),
  dataDir: Config.option(Config.string("CCAT_DATA_DIR")).pipe(Config.map((dir) => chooseDataDir(Option.filter(dir, (d) => d !== ""))))
}).pipe(Config.map(({ url, dataDir }) => ({ url, ...dataDir })))

/**
 * A command that needs the operations database found none: no server named, and no embedded
 * database where it looked. Only `ccat db migrate`, `ccat db seed` and `ccat demo` make one.
 */
export class NoDatabaseHere extends Data.TaggedError("NoDatabaseHere")<{
  readonly dataDir: string
  /** Whether CCAT_DATA_DIR named the folder (else: none was found searching up from the working folder). */
  readonly named: boolean
}> {
  override get message(): string {
    const where = this.named
      ? `CCAT_DATA_DIR (${this.dataDir}) holds no embedded database`
      : `there is no .ccat/ in ${dirname(this.dataDir)} or any folder above it`
    return `no operations database here: CCAT_DATABASE_URL is not set and ${where}. Use a PostgreSQL server (export CCAT_DATABASE_URL=postgres://…) or create the embedded one ${this.named ? "there" : "here"} (ccat db migrate, or ccat demo for the demo data).`
  }
}

/** Why the configuration names no database that exists already; none when it does. */
export const missingDatabase = (config: EnvironmentDatabaseConfig): Option.Option<NoDatabaseHere> =>
  Option.isSome(config.url) || holdsEmbeddedDatabase(config.dataDir)
    ? Option.none()
    : Option.some(new NoDatabaseHere({ dataDir: config.dataDir, named: config.dataDirChoice === "CCAT_DATA_DIR" }))
