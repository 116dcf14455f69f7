// What the benches' command lines share: reading a flag, a count like `1M`, and a bad option ending the run with exit 2.

/** A bad option: its message is all a person needs, so it is printed without a stack (exit 2). */
export class UsageError extends Error {}

/** The value after `flag`, given as `--flag value` or `--flag=value`. */
export const argValue = (flag: string): string | undefined => {
  const argv = process.argv
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1]
    if (argv[i]!.startsWith(`${flag}=`)) return argv[i]!.slice(flag.length + 1)
  }
  return undefined
}

/** Each bench words its own complaints, in the terms of what it counts. */
export interface CountRule {
  readonly min: number
  readonly notACount: (text: string) => string
  readonly tooSmall: (text: string) => string
}

/** `10000`, `10k`, `1M`, `1_000_000`; a UsageError worded by `rule` when it is not a count or under `rule.min`. */
export const parseCount = (text: string, rule: CountRule): number => {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim().replace(/_/g, ""))
  if (m === null) throw new UsageError(rule.notACount(text))
  const unit = m[2]!.toLowerCase()
  const n = Math.round(Number(m[1]) * (unit === "k" ? 1_000 : unit === "m" ? 1_000_000 : 1))
  if (n < rule.min) throw new UsageError(rule.tooSmall(text))
  return n
}

/** The options `parse` reads, or, on a UsageError, its message and exit 2 (anything else is a bug and is thrown). */
export const optionsOrExit = <A>(parse: () => A): A => {
  try {
    return parse()
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    console.error(error.message)
    return process.exit(2)
  }
}
