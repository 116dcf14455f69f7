/*
 * Validation of the 5-field cron expressions in `trigger cron "…"`. Its job is diagnostics: every
 * problem carries offsets into the expression text so the caller can underline the exact token
 * inside the string literal. Semantics follow Vixie cron, which is also what Effect's `Cron.parse`
 * implements; the tests cross-check the two.
 */

import { didYouMean } from "./suggest.ts"

export interface CronProblem {
  readonly kind: "malformed" | "impossible"
  readonly message: string
  /** Offsets into the expression text; `end` is exclusive. */
  readonly start: number
  readonly end: number
  readonly help?: string
}

export interface CronFields {
  readonly minute: ReadonlyArray<number>
  readonly hour: ReadonlyArray<number>
  readonly dayOfMonth: ReadonlyArray<number>
  readonly month: ReadonlyArray<number>
  /** 0-6, Sunday = 0; 7 normalised to 0. */
  readonly dayOfWeek: ReadonlyArray<number>
  /**
   * Whether the field does not start with `*`. This is the flag cron uses to pick between
   * "either day field matches" (both restricted) and "both match", so `*` + `/2` counts as
   * unrestricted even though it selects only some days.
   */
  readonly dayOfMonthRestricted: boolean
  readonly dayOfWeekRestricted: boolean
}

interface Span {
  readonly text: string
  readonly start: number
  readonly end: number
}

interface FieldSpec {
  readonly label: string
  readonly min: number
  readonly max: number
  /** Upper-case names standing for `min`, `min + 1`, … */
  readonly names?: ReadonlyArray<string>
}

const minute: FieldSpec = { label: "minute", min: 0, max: 59 }
const hour: FieldSpec = { label: "hour", min: 0, max: 23 }
const dayOfMonth: FieldSpec = { label: "day-of-month", min: 1, max: 31 }
const month: FieldSpec = {
  label: "month",
  min: 1,
  max: 12,
  names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
}
const dayOfWeek: FieldSpec = {
  label: "day-of-week",
  min: 0,
  max: 7,
  names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
}
const FIELDS = [minute, hour, dayOfMonth, month, dayOfWeek] as const

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *"
}

// February gets 29: a leap year always comes round, so `0 0 29 2 *` does fire.
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const SHAPES = "expected `*`, a number, a range like `1-5`, a step like `*/15` or `1-30/5`, or a comma list of these"

const QUARTZ = /^(\?|L|LW|\d+[LW]|\w+#\d+)$/i

const slice = (span: Span, from: number, to = span.text.length): Span => ({
  text: span.text.slice(from, to),
  start: span.start + from,
  end: span.start + to
})

const splitOn = (span: Span, separator: string): Array<Span> => {
  let from = 0
  return span.text.split(separator).map((piece) => {
    const part = slice(span, from, from + piece.length)
    from += piece.length + separator.length
    return part
  })
}

const malformed = (at: { readonly start: number; readonly end: number }, message: string, help?: string): CronProblem => ({
  kind: "malformed",
  message,
  start: at.start,
  end: at.end,
  ...(help === undefined ? {} : { help })
})

// Full names (`JULY`, `MONDAY`) count as close; ties go alphabetically (the first of equally
// close candidates wins, so they are sorted), so `JUX` suggests `JUL`.
const suggestName = (word: string, candidates: ReadonlyArray<string>, maxDistance: number): string | undefined =>
  didYouMean(word, [...candidates].sort(), { maxDistance, prefixes: true })

// Swapped fields are a common slip, so say where a name that belongs elsewhere should go.
const belongsElsewhere = (word: string, spec: FieldSpec): string | undefined => {
  const owner = FIELDS.find((other) => other !== spec && other.names?.includes(word.toUpperCase()))
  return owner === undefined
    ? undefined
    : `\`${word}\` is a ${owner.label} name, which belongs in field ${FIELDS.indexOf(owner) + 1} (${owner.label})`
}

const quartzHelp = (text: string): string | undefined =>
  QUARTZ.test(text) ? "`L`, `W`, `#` and `?` are Quartz extensions, which standard cron does not support" : undefined

const readValue = (token: Span, spec: FieldSpec): number | CronProblem => {
  const { label, min, max, names } = spec
  if (/^\d+$/.test(token.text)) {
    const value = Number(token.text)
    if (value >= min && value <= max) return value
    return malformed(token, `${label} \`${token.text}\` is out of range ${min}-${max}`)
  }
  const index = names?.indexOf(token.text.toUpperCase()) ?? -1
  if (index >= 0) return min + index
  const help = belongsElsewhere(token.text, spec) ?? quartzHelp(token.text)
  if (names !== undefined && /^[a-z]+$/i.test(token.text)) {
    const suggestion = suggestName(token.text.toUpperCase(), names, 1)
    return malformed(token, `unknown ${label} name \`${token.text}\``, suggestion ?? help)
  }
  return malformed(token, `${label} \`${token.text}\` is not a number`, help)
}

const backwards = (range: Span, low: number, high: number, spec: FieldSpec): CronProblem => {
  const message = `range \`${range.text}\` is backwards`
  const [lowText, highText] = range.text.split("-")
  // `FRI-SUN` is the natural way to write a weekend; cron spells that Sunday as 7.
  if (spec === dayOfWeek && high === 0) {
    return malformed(range, message, `ranges run low to high; Sunday is also day 7, so write \`${lowText}-7\``)
  }
  const show = (a: number, b: number): string => (a === b ? `${a}` : `${a}-${b}`)
  // Day-of-week tops out at 6 here so the wrapped suggestion does not name Sunday twice.
  const top = spec === dayOfWeek ? 6 : spec.max
  const wrapped = `${show(low, top)},${show(spec.min, high)}`
  return malformed(range, message, `ranges run low to high: write \`${highText}-${lowText}\`, or \`${wrapped}\` to wrap around`)
}

const parseItem = (item: Span, spec: FieldSpec): Array<number> | CronProblem => {
  const slash = item.text.indexOf("/")
  const base = slash < 0 ? item : slice(item, 0, slash)
  const stepText = slash < 0 ? undefined : slice(item, slash + 1)
  if (!/^(\*|[a-z0-9]+(-[a-z0-9]+)?)$/i.test(base.text)) {
    return malformed(item, `cannot read \`${item.text}\` as a ${spec.label} value`, quartzHelp(item.text) ?? SHAPES)
  }

  let first = spec.min
  let last = spec.max
  if (base.text !== "*") {
    const dash = base.text.indexOf("-")
    const low = readValue(dash < 0 ? base : slice(base, 0, dash), spec)
    if (typeof low !== "number") return low
    // `a/n` means "from a to the end of the field, every n".
    const high = dash >= 0 ? readValue(slice(base, dash + 1), spec) : stepText === undefined ? low : spec.max
    if (typeof high !== "number") return high
    if (low > high) return backwards(base, low, high, spec)
    first = low
    last = high
  }

  let step = 1
  if (stepText !== undefined) {
    if (stepText.text === "") {
      return malformed(slice(item, slash, slash + 1), `missing step after \`/\` in ${spec.label}`)
    }
    if (!/^\d+$/.test(stepText.text)) return malformed(stepText, `step \`${stepText.text}\` must be a whole number`)
    step = Number(stepText.text)
    if (step < 1) return malformed(stepText, `step \`${stepText.text}\` must be at least 1`)
    // Effect's Cron.parse rejects steps above the field maximum; agreeing keeps the runtime honest.
    if (step > spec.max) {
      return malformed(stepText, `step \`${stepText.text}\` is too large for ${spec.label} (at most ${spec.max})`)
    }
  }

  const values: Array<number> = []
  for (let value = first; value <= last; value += step) values.push(value)
  return values
}

const parseField = (field: Span, spec: FieldSpec, problems: Array<CronProblem>): ReadonlyArray<number> => {
  const values = new Set<number>()
  for (const item of splitOn(field, ",")) {
    if (item.text === "") {
      // Point at a comma: the empty item itself has no width to underline.
      const comma = item.start > field.start ? item.start - 1 : item.start
      problems.push(malformed({ start: comma, end: comma + 1 }, `empty item in the ${spec.label} list`))
      continue
    }
    const result = parseItem(item, spec)
    if ("kind" in result) problems.push(result)
    else for (const value of result) values.add(spec === dayOfWeek ? value % 7 : value)
  }
  return [...values].sort((a, b) => a - b)
}

const monthName = (m: number): string => new Intl.DateTimeFormat("en", { month: "long", timeZone: "UTC" }).format(Date.UTC(2000, m - 1, 1))

const listed = (words: ReadonlyArray<string>): string =>
  words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`

// Only the day-of-month/month pair can be impossible: any date recurs on every weekday over the
// years, and when both day fields are restricted cron fires on either, so the weekday alone fires.
const impossibility = (fields: CronFields, domField: Span, monthField: Span): CronProblem | undefined => {
  if (!fields.dayOfMonthRestricted || fields.dayOfWeekRestricted) return undefined
  const longest = Math.max(...fields.month.map((m) => DAYS_IN_MONTH[m - 1] ?? 31))
  if (fields.dayOfMonth.some((day) => day <= longest)) return undefined
  const months = fields.month.map(monthName)
  return {
    kind: "impossible",
    message: `day-of-month \`${domField.text}\` does not occur in month \`${monthField.text}\``,
    start: domField.start,
    end: monthField.end,
    help: `${listed(months)} ${months.length === 1 ? "has" : "have"} at most ${longest} days`
  }
}

/**
 * `fields` is null when the text is malformed. An impossible schedule is well-formed, so its
 * fields come back alongside the problem.
 */
export const validateCron = (text: string): { readonly fields: CronFields | null; readonly problems: ReadonlyArray<CronProblem> } => {
  const tokens: Array<Span> = [...text.matchAll(/\S+/g)].map((m) => ({
    text: m[0],
    start: m.index,
    end: m.index + m[0].length
  }))
  const [head, ...rest] = tokens

  if (head?.text.startsWith("@")) {
    const expansion = MACROS[head.text.toLowerCase()]
    const problems: Array<CronProblem> = []
    if (expansion === undefined) {
      problems.push(
        malformed(
          head,
          `unknown macro \`${head.text}\``,
          suggestName(head.text.toLowerCase(), Object.keys(MACROS), 2) ?? `known macros are ${listed(Object.keys(MACROS))}`
        )
      )
    }
    const after = rest[0]
    if (after !== undefined) {
      problems.push(
        malformed(
          { start: after.start, end: text.trimEnd().length },
          `unexpected text after macro \`${head.text}\``,
          "a macro stands for the whole expression"
        )
      )
    }
    return expansion === undefined || problems.length > 0 ? { fields: null, problems } : validateCron(expansion)
  }

  if (tokens.length !== 5) {
    const help =
      tokens.length === 6
        ? "seconds are not supported: schedules have minute resolution, so drop the seconds field"
        : tokens.length > 6
          ? "seconds and years are not supported: schedules have minute resolution, so drop the extra fields"
          : "use `*` for a field that should match every value"
    return {
      fields: null,
      problems: [
        malformed(
          { start: 0, end: text.length },
          `expected 5 fields (minute hour day-of-month month day-of-week), found ${tokens.length}`,
          help
        )
      ]
    }
  }

  const [m, h, dom, mon, dow] = tokens as [Span, Span, Span, Span, Span]
  const problems: Array<CronProblem> = []
  const fields: CronFields = {
    minute: parseField(m, minute, problems),
    hour: parseField(h, hour, problems),
    dayOfMonth: parseField(dom, dayOfMonth, problems),
    month: parseField(mon, month, problems),
    dayOfWeek: parseField(dow, dayOfWeek, problems),
    dayOfMonthRestricted: !dom.text.startsWith("*"),
    dayOfWeekRestricted: !dow.text.startsWith("*")
  }
  if (problems.length > 0) return { fields: null, problems }
  const impossible = impossibility(fields, dom, mon)
  return { fields, problems: impossible === undefined ? [] : [impossible] }
}

// Building a DateTimeFormat is slow and a workspace names the same few zones many times.
const timeZoneValidity = new Map<string, boolean>()

export const isValidTimeZone = (tz: string): boolean => {
  const known = timeZoneValidity.get(tz)
  if (known !== undefined) return known
  let valid: boolean
  try {
    // Intl throws a RangeError for any zone the runtime's ICU data does not know.
    new Intl.DateTimeFormat("en-US", { timeZone: tz })
    valid = true
  } catch {
    valid = false
  }
  timeZoneValidity.set(tz, valid)
  return valid
}
