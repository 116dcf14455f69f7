import { Config, Option, Redacted } from "effect"
import { resolve } from "node:path"

/** Where the operations database lives: a PostgreSQL server, or the embedded one under `dataDir`. */
export interface DatabaseConfig {
  /** `CCAT_DATABASE_URL`; none means the embedded database. */
  readonly url: Option.Option<Redacted.Redacted<string>>
  /** `CCAT_DATA_DIR` as an absolute path; the embedded database keeps its files here. */
  readonly dataDir: string
}

export const defaultDataDir = ".ccat"

export const DatabaseConfig: Config.Config<DatabaseConfig> = Config.all({
  // An empty value counts as unset, so `CCAT_DATABASE_URL= ccat …` reaches the embedded database.
  url: Config.option(Config.redacted("CCAT_DATABASE_URL")).pipe(Config.map(Option.filter((url) => Redacted.value(url).trim() !== ""))),
  dataDir: Config.string("CCAT_DATA_DIR").pipe(
    Config.withDefault(defaultDataDir),
    Config.map((dir) => resolve(dir === "" ? defaultDataDir : dir))
  )
})
