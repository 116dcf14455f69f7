import { Cron, Either } from "effect"
import { describe, expect, it } from "vitest"
import { type CronFields, type CronProblem, isValidTimeZone, validateCron } from "../src/compiler/cron.ts"

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const fieldsOf = (text: string): CronFields => {
  const { fields, problems } = validateCron(text)
  expect(problems).toEqual([])
  if (fields === null) throw new Error(`no fields for ${text}`)
  return fields
}

// Well-formed expressions that can fire; each one is also fed to Effect's parser below.
const valid: ReadonlyArray<string> = [
  "0 3 * * *",
  "* * * * *",
  "*/15 * * * *",
  "0-30/10 9-17 * * 1-5",
  "5/20 * * * *",
  "0 0 1,15 * *",
  "0 0 1 jan-mar/2 mon-fri",
  "0 0 1 JAN,Jul Wed",
  "0 0 * * 7",
  "0 0 * * 5-7",
  "0 0 * * sun,7",
  "0 0 29 2 *",
  "0 0 31 2,3 *",
  "0 0 31 2 1",
  "0 0 13 * 5",
  "0 0 */2 * 5",
  "*/59 */23 */31 */12 */7",
  "  0   3 * *\t* ",
  "00 03 01 01 00"
]

describe("validateCron: valid expressions", () => {
  it.each(valid)("accepts %j", (text) => {
    fieldsOf(text)
  })

  it("expands ranges, steps, names and lists", () => {
    expect(fieldsOf("0-30/10 9-17 * * 1-5")).toEqual({
      minute: [0, 10, 20, 30],
      hour: range(9, 17),
      dayOfMonth: range(1, 31),
      month: range(1, 12),
      dayOfWeek: [1, 2, 3, 4, 5],
      dayOfMonthRestricted: false,
      dayOfWeekRestricted: true
    })
    expect(fieldsOf("5/20 * * * *").minute).toEqual([5, 25, 45])
    expect(fieldsOf("0 0 1 jan-mar/2 mon-fri").month).toEqual([1, 3])
    expect(fieldsOf("0 0 1 JAN,Jul Wed").month).toEqual([1, 7])
    expect(fieldsOf("0 0 1 JAN,Jul Wed").dayOfWeek).toEqual([3])
  })

  it("normalises Sunday written as 7", () => {
    expect(fieldsOf("0 0 * * 7").dayOfWeek).toEqual([0])
    expect(fieldsOf("0 0 * * 5-7").dayOfWeek).toEqual([0, 5, 6])
    expect(fieldsOf("0 0 * * sun,7").dayOfWeek).toEqual([0])
    expect(fieldsOf("0 0 * * *").dayOfWeek).toEqual(range(0, 6))
  })

  it("treats a field starting with `*` as unrestricted, as cron does", () => {
    const fields = fieldsOf("0 0 */2 * 5")
    expect(fields.dayOfMonth).toEqual(range(0, 15).map((i) => 1 + 2 * i))
    expect([fields.dayOfMonthRestricted, fields.dayOfWeekRestricted]).toEqual([false, true])
  })

  it.each([
    ["@yearly", "0 0 1 1 *"],
    ["@annually", "0 0 1 1 *"],
    ["@monthly", "0 0 1 * *"],
    ["@weekly", "0 0 * * 0"],
    ["@daily", "0 0 * * *"],
    ["@midnight", "0 0 * * *"],
    ["@hourly", "0 * * * *"],
    ["  @Daily ", "0 0 * * *"]
  ])("expands macro %j", (macro, expansion) => {
    expect(fieldsOf(macro)).toEqual(fieldsOf(expansion))
  })
})

const malformed = (start: number, end: number, message: string, help?: string): CronProblem =>
  help === undefined ? { kind: "malformed", message, start, end } : { kind: "malformed", message, start, end, help }

const FIVE = "expected 5 fields (minute hour day-of-month month day-of-week)"
const SHAPES = "expected `*`, a number, a range like `1-5`, a step like `*/15` or `1-30/5`, or a comma list of these"
const QUARTZ = "`L`, `W`, `#` and `?` are Quartz extensions, which standard cron does not support"

const invalid: ReadonlyArray<readonly [string, ReadonlyArray<CronProblem>]> = [
  ["61 3 * * *", [malformed(0, 2, "minute `61` is out of range 0-59")]],
  ["0 24 * * *", [malformed(2, 4, "hour `24` is out of range 0-23")]],
  ["0 0 0 * *", [malformed(4, 5, "day-of-month `0` is out of range 1-31")]],
  ["0 0 1 13 *", [malformed(6, 8, "month `13` is out of range 1-12")]],
  ["0 0 * * 8", [malformed(8, 9, "day-of-week `8` is out of range 0-7")]],
  [
    "0 0 3 * * *",
    [malformed(0, 11, `${FIVE}, found 6`, "seconds are not supported: schedules have minute resolution, so drop the seconds field")]
  ],
  [
    "0 0 1 1 * 2030 x",
    [
      malformed(
        0,
        16,
        `${FIVE}, found 7`,
        "seconds and years are not supported: schedules have minute resolution, so drop the extra fields"
      )
    ]
  ],
  ["0 3 * *", [malformed(0, 7, `${FIVE}, found 4`, "use `*` for a field that should match every value")]],
  ["", [malformed(0, 0, `${FIVE}, found 0`, "use `*` for a field that should match every value")]],
  ["*/0 * * * *", [malformed(2, 3, "step `0` must be at least 1")]],
  ["0 */x * * *", [malformed(4, 5, "step `x` must be a whole number")]],
  ["5/ * * * *", [malformed(1, 2, "missing step after `/` in minute")]],
  ["*/60 * * * *", [malformed(2, 4, "step `60` is too large for minute (at most 59)")]],
  ["0 0 * * */8", [malformed(10, 11, "step `8` is too large for day-of-week (at most 7)")]],
  ["5-2 * * * *", [malformed(0, 3, "range `5-2` is backwards", "ranges run low to high: write `2-5`, or `5-59,0-2` to wrap around")]],
  ["0 22-2/2 * * *", [malformed(2, 6, "range `22-2` is backwards", "ranges run low to high: write `2-22`, or `22-23,0-2` to wrap around")]],
  [
    "0 0 * * FRI-MON",
    [malformed(8, 15, "range `FRI-MON` is backwards", "ranges run low to high: write `MON-FRI`, or `5-6,0-1` to wrap around")]
  ],
  ["0 0 * * FRI-SUN", [malformed(8, 15, "range `FRI-SUN` is backwards", "ranges run low to high; Sunday is also day 7, so write `FRI-7`")]],
  ["0 0 1 JUX *", [malformed(6, 9, "unknown month name `JUX`", "did you mean `JUL`?")]],
  ["0 0 1 January *", [malformed(6, 13, "unknown month name `January`", "did you mean `JAN`?")]],
  ["0 0 * * Tues", [malformed(8, 12, "unknown day-of-week name `Tues`", "did you mean `TUE`?")]],
  ["0 0 1 XYZ *", [malformed(6, 9, "unknown month name `XYZ`")]],
  ["0 0 1 MON *", [malformed(6, 9, "unknown month name `MON`", "`MON` is a day-of-week name, which belongs in field 5 (day-of-week)")]],
  ["0 0 * * jan", [malformed(8, 11, "unknown day-of-week name `jan`", "`jan` is a month name, which belongs in field 4 (month)")]],
  ["0 noon * * *", [malformed(2, 6, "hour `noon` is not a number")]],
  ["1.5 * * * *", [malformed(0, 3, "cannot read `1.5` as a minute value", SHAPES)]],
  ["1-2-3 * * * *", [malformed(0, 5, "cannot read `1-2-3` as a minute value", SHAPES)]],
  ["-5 * * * *", [malformed(0, 2, "cannot read `-5` as a minute value", SHAPES)]],
  ["0 0 1-* * *", [malformed(4, 7, "cannot read `1-*` as a day-of-month value", SHAPES)]],
  ["1,,2 * * * *", [malformed(1, 2, "empty item in the minute list")]],
  [",1 * * * *", [malformed(0, 1, "empty item in the minute list")]],
  ["0 0 L * *", [malformed(4, 5, "day-of-month `L` is not a number", QUARTZ)]],
  ["0 0 15W * *", [malformed(4, 7, "day-of-month `15W` is not a number", QUARTZ)]],
  ["0 0 ? * MON", [malformed(4, 5, "cannot read `?` as a day-of-month value", QUARTZ)]],
  ["0 0 * * 5#2", [malformed(8, 11, "cannot read `5#2` as a day-of-week value", QUARTZ)]],
  // Every field is checked, and every item within a field.
  [
    "60 24 0 13 8",
    [
      malformed(0, 2, "minute `60` is out of range 0-59"),
      malformed(3, 5, "hour `24` is out of range 0-23"),
      malformed(6, 7, "day-of-month `0` is out of range 1-31"),
      malformed(8, 10, "month `13` is out of range 1-12"),
      malformed(11, 12, "day-of-week `8` is out of range 0-7")
    ]
  ],
  ["1,99,*/0 * * * *", [malformed(2, 4, "minute `99` is out of range 0-59"), malformed(7, 8, "step `0` must be at least 1")]],
  ["@dayly", [malformed(0, 6, "unknown macro `@dayly`", "did you mean `@daily`?")]],
  [
    "@reboot",
    [malformed(0, 7, "unknown macro `@reboot`", "known macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly")]
  ],
  ["@daily 0 3", [malformed(7, 10, "unexpected text after macro `@daily`", "a macro stands for the whole expression")]]
]

describe("validateCron: malformed expressions", () => {
  it.each(invalid)("rejects %j", (text, problems) => {
    expect(validateCron(text)).toEqual({ fields: null, problems })
  })

  it("spans are offsets into the original text", () => {
    for (const [text, problems] of invalid) {
      for (const { start, end } of problems) {
        expect(0 <= start && start <= end && end <= text.length).toBe(true)
      }
    }
    const text = "0 0 1 JUX *"
    const [problem] = validateCron(text).problems
    expect(problem && text.slice(problem.start, problem.end)).toBe("JUX")
  })
})

describe("validateCron: impossible schedules", () => {
  it.each([
    ["0 0 30 2 *", 4, 8, "day-of-month `30` does not occur in month `2`", "February has at most 29 days"],
    [
      "0 0 31 4,6,9,11 *",
      4,
      15,
      "day-of-month `31` does not occur in month `4,6,9,11`",
      "April, June, September and November have at most 30 days"
    ],
    ["0 0 30,31 FEB *", 4, 13, "day-of-month `30,31` does not occur in month `FEB`", "February has at most 29 days"],
    // `*/2` still makes day-of-week a wildcard, so both day fields must match: still impossible.
    ["0 0 31 2 */2", 4, 8, "day-of-month `31` does not occur in month `2`", "February has at most 29 days"]
  ])("flags %j", (text, start, end, message, help) => {
    const { fields, problems } = validateCron(text)
    expect(problems).toEqual([{ kind: "impossible", message, start, end, help }])
    expect(fields).not.toBeNull()
  })

  it.each(["0 0 29 2 *", "0 0 31 2,3 *", "0 0 31 2 1", "0 0 31 2 MON-FRI"])("%j can fire", (text) => {
    expect(validateCron(text).problems).toEqual([])
  })
})

// Effect's Cron leaves a field's set empty for a bare `*`; expand that so the two can be compared.
const effectValues = (values: ReadonlySet<number>, min: number, max: number): Array<number> =>
  values.size === 0 ? range(min, max) : [...values].sort((a, b) => a - b)

// Standard cron: both day fields restricted means either may match, otherwise both must.
const firesOnDay = (fields: CronFields, date: Date): boolean => {
  const day = fields.dayOfMonth.includes(date.getUTCDate())
  const weekday = fields.dayOfWeek.includes(date.getUTCDay())
  return (
    fields.month.includes(date.getUTCMonth() + 1) &&
    (fields.dayOfMonthRestricted && fields.dayOfWeekRestricted ? day || weekday : day && weekday)
  )
}

describe("agreement with effect's Cron.parse", () => {
  const accepted = [...valid, "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 */2"]

  it.each(accepted)("Cron.parse accepts %j with the same values", (text) => {
    const { fields } = validateCron(text)
    if (fields === null) throw new Error(`${text} is malformed`)
    const parsed = Cron.parse(text)
    if (Either.isLeft(parsed)) throw parsed.left
    const cron = parsed.right
    expect(effectValues(cron.minutes, 0, 59)).toEqual(fields.minute)
    expect(effectValues(cron.hours, 0, 23)).toEqual(fields.hour)
    expect(effectValues(cron.days, 1, 31)).toEqual(fields.dayOfMonth)
    expect(effectValues(cron.months, 1, 12)).toEqual(fields.month)
    expect(effectValues(cron.weekdays, 0, 6)).toEqual(fields.dayOfWeek)
  })

  it.each(["0 0 13 * 5", "0 0 */2 * 5", "0 0 1,15 * 1-5", "0 0 29 2 *", "0 0 1 JAN,Jul Wed", "0 0 31 2 1"])(
    "Cron.match agrees on which days %j fires",
    (text) => {
      const fields = fieldsOf(text)
      const cron = Either.getOrThrow(Cron.parse(text, "UTC"))
      // Five years from 2024 include a leap day and every weekday on every date.
      for (let day = 0; day < 5 * 366; day++) {
        const date = new Date(Date.UTC(2024, 0, 1 + day))
        expect(Cron.match(cron, date), date.toISOString()).toBe(firesOnDay(fields, date))
      }
    }
  )

  it("Cron.parse rejects macros, so they are compared through their expansion", () => {
    expect(Either.isLeft(Cron.parse("@daily"))).toBe(true)
    expect(Either.isRight(Cron.parse("0 0 * * *"))).toBe(true)
  })

  it("Cron.parse accepts a leading seconds field, which the DSL rejects", () => {
    expect(Either.isRight(Cron.parse("0 0 3 * * *"))).toBe(true)
    expect(validateCron("0 0 3 * * *").fields).toBeNull()
  })

  it.each(invalid.map(([text]) => text).filter((text) => text !== "0 0 3 * * *"))("Cron.parse rejects %j too", (text) => {
    expect(Either.isLeft(Cron.parse(text))).toBe(true)
  })
})

describe("isValidTimeZone", () => {
  it.each(["UTC", "Europe/Berlin", "America/Santiago", "Etc/GMT+5"])("accepts %j", (tz) => {
    expect(isValidTimeZone(tz)).toBe(true)
  })

  it.each(["", " ", "Mars/Olympus", "Europe/Berlinn", "+01:00", "not a zone"])("rejects %j", (tz) => {
    expect(isValidTimeZone(tz)).toBe(false)
  })
})
