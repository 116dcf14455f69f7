import { Option } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"

/*
 * server.json, the address an embedded database's owner records beside the data, and the check
 * that its process still lives. Kept apart from embedded-server.ts so that readers that must
 * never open the folder themselves (the language server) do not load PGlite.
 */

export interface ServerRecord {
  readonly host: string
  readonly port: number
  readonly pid: number
  readonly startedAt: string
}

export const serverRecordPath = (dataDir: string): string => join(dataDir, "server.json")

export const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

export const processExists = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    // EPERM: it exists but belongs to someone else.
    return errorCode(cause) === "EPERM"
  }
}

export const parseServerRecord = (text: string): Option.Option<ServerRecord> => {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== "object" || value === null) return Option.none()
    const { host, port, pid, startedAt } = value as Record<string, unknown>
    return typeof host === "string" && typeof port === "number" && typeof pid === "number" && typeof startedAt === "string"
      ? Option.some({ host, port, pid, startedAt })
      : Option.none()
  } catch {
    return Option.none()
  }
}

/** Reads server.json; none when it is missing or unreadable. */
export const readServerRecord = (dataDir: string): Option.Option<ServerRecord> => {
  try {
    return parseServerRecord(readFileSync(serverRecordPath(dataDir), "utf8"))
  } catch {
    return Option.none()
  }
}

export const serverRecordUrl = (record: Pick<ServerRecord, "host" | "port">): string =>
  `postgres://postgres@${record.host}:${record.port}/postgres`
