import { describe, expect, it } from "vitest"
import type * as A from "../src/compiler/ast.ts"
import { compileSources } from "../src/compiler/compile.ts"
import type { Diagnostic } from "../src/compiler/diagnostics.ts"

/*
 * Error recovery: "one typo gives one diagnostic". Each mistake below must cost exactly its own
 * diagnostic, and every declaration around it must still be in the AST.
 */

const compile = (text: string) => compileSources([{ path: "test/recovery.ccat", text }])

/** `E020@3` for a diagnostic with code E020 starting on line 3. */
const brief = (d: Diagnostic): string => `${d.code}@${d.span.startLine}`
const describeAll = (ds: ReadonlyArray<Diagnostic>): Array<string> => ds.map((d) => `${brief(d)} ${d.message}`)
/** Asserts the number of diagnostics, listing them all when it is wrong. */
const expectCount = (ds: ReadonlyArray<Diagnostic>, n: number): void => {
  expect(ds.length, `diagnostics:\n  ${describeAll(ds).join("\n  ")}\n`).toBe(n)
}

/** `kind name: property, property, step name(property, ...)` for each declaration. */
const outline = (declarations: ReadonlyArray<A.Declaration>): Array<string> =>
  declarations.map(
    (d) =>
      `${d.kind} ${d.name?.text ?? "?"}: ${d.properties
        .map((p) =>
          p.kind === "step"
            ? `step ${p.step.name?.text ?? "?"}(${p.step.properties.map((q) => q.keyword.text).join(", ")})`
            : p.keyword.text
        )
        .join(", ")}`
  )

// Shared, mistake-free context: every name referenced and every declaration used.
const softwareAndGroupings = `
software chai_calibration {
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.3.1", "2.4.0"
  command "calibrate"
}
`

// The grouping the small examples below select, and the mistake-free pipeline that ends each of
// them: it must come through whole whatever the mistake before it.
const groupingG = `grouping g {
  where RawDataPackage.state == "ARCHIVED"
}
`
const pipelineSecond = `pipeline second {
  data g
  location ramses
  trigger manual
  step c {
    run chai_calibration ^2.3
    group_by all
  }
}
`

describe("three independent mistakes in three blocks give exactly three diagnostics", () => {
  // Lines: 3 the misspelled property, 15-16 the where, 29 the unknown software.
  const withMissingValue = `location ramses {
  site "cologne"
  backnd slurm { partition "batch" }
  base_dir "/data/pipelines"
}

software chai_calibration {
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.3.1", "2.4.0"
  command "calibrate"
}

grouping chai_archived {
  description "All archived CHAI data"
  where InstrumentModule.name in ("LFA", "HFA")
    and RawDataPackage.state ==
}

grouping ngc253 {
  from chai_archived
  where Source.name == "NGC253"
}

pipeline chai_standing {
  data ngc253
  location ramses
  trigger continuous
  step calibrate {
    run chai_calibraton ^2.3
    group_by executed_obs_unit
  }
  step baseline {
    after calibrate
    run chai_calibration ^2.3
    group_by executed_obs_unit
  }
}
`
  const expectedOutline = [
    "location ramses: site, backnd, base_dir",
    "software chai_calibration: image, versions, command",
    "grouping chai_archived: description, where",
    "grouping ngc253: from, where",
    "pipeline chai_standing: data, location, trigger, step calibrate(run, group_by), step baseline(after, run, group_by)"
  ]

  it("with a missing value at the end of a where", () => {
    const result = compile(withMissingValue)
    expectCount(result.diagnostics, 3)
    const [property, syntax, software] = result.diagnostics
    expect(brief(property!)).toBe("E020@3")
    expect(property!.message).toContain("backnd")
    // The value is missing after `==` on line 16; the parser notices at the `}` on line 17.
    expect(syntax!.code).toBe("E005")
    expect([16, 17]).toContain(syntax!.span.startLine)
    expect(brief(software!)).toBe("E011@29")
    expect(software!.message).toContain("chai_calibraton")
    expect(result.ir).toBeUndefined()
    expect(outline(result.files[0]!.declarations)).toEqual(expectedOutline)
  })

  it("with a stray token inside a where", () => {
    const text = withMissingValue
      .replace('in ("LFA", "HFA")\n', 'in ("LFA", "HFA") ]\n')
      .replace("RawDataPackage.state ==\n", 'RawDataPackage.state == "ARCHIVED"\n')
    expect(text.split("\n")[14]).toBe('  where InstrumentModule.name in ("LFA", "HFA") ]')
    const result = compile(text)
    expectCount(result.diagnostics, 3)
    const [property, syntax, software] = result.diagnostics
    expect(brief(property!)).toBe("E020@3")
    expect(["E005@15", "E008@15"]).toContain(brief(syntax!))
    // The diagnostic is about the `]` alone, not the rest of the expression.
    expect(text.slice(syntax!.span.start, syntax!.span.end)).toBe("]")
    expect(brief(software!)).toBe("E011@29")
    expect(outline(result.files[0]!.declarations)).toEqual(expectedOutline)
  })

  it("the same three mistakes, each alone, give one diagnostic each", () => {
    const fixed = {
      property: (t: string) => t.replace("backnd", "backend"),
      where: (t: string) => t.replace("RawDataPackage.state ==\n", 'RawDataPackage.state == "ARCHIVED"\n'),
      software: (t: string) => t.replace("chai_calibraton", "chai_calibration")
    }
    const only = (keep: keyof typeof fixed): string =>
      (Object.keys(fixed) as Array<keyof typeof fixed>).filter((k) => k !== keep).reduce((t, k) => fixed[k](t), withMissingValue)
    expect(describeAll(compile(only("property")).diagnostics).map((d) => d.slice(0, 6))).toEqual(["E020@3"])
    expect(compile(only("where")).diagnostics.map((d) => d.code)).toEqual(["E005"])
    expect(describeAll(compile(only("software")).diagnostics).map((d) => d.slice(0, 7))).toEqual(["E011@29"])
    const none = (Object.keys(fixed) as Array<keyof typeof fixed>).reduce((t, k) => fixed[k](t), withMissingValue)
    expect(describeAll(compile(none).diagnostics)).toEqual([])
  })
})

describe("a missing `}` at the end of a step", () => {
  const text = `location ramses {
  site "cologne"
}
${softwareAndGroupings}${groupingG}
pipeline first {
  data g
  location ramses
  trigger manual
  step a {
    run chai_calibration ^2.3
    group_by all

  step b {
    after a
    run chai_calibration ^2.3
    group_by all
  }
}

${pipelineSecond}`
  const stepLine = text.split("\n").findIndex((l) => l.includes("step a {")) + 1

  it("is reported once, as an unclosed brace that points at the step", () => {
    const result = compile(text)
    expectCount(result.diagnostics, 1)
    const d = result.diagnostics[0]!
    expect(d.code).toBe("E006")
    // Where it can be fixed: the step's `{`, as the primary span or as related information.
    expect([d.span.startLine, ...d.related.map((r) => r.span.startLine)]).toContain(stepLine)
  })

  it("the following pipeline still parses, and so does everything before", () => {
    const result = compile(text)
    const names = result.files[0]!.declarations.map((d) => `${d.kind} ${d.name?.text}`)
    expect(names).toEqual(["location ramses", "software chai_calibration", "grouping g", "pipeline first", "pipeline second"])
    const second = outline(result.files[0]!.declarations).find((o) => o.startsWith("pipeline second"))
    expect(second).toBe("pipeline second: data, location, trigger, step c(run, group_by)")
  })
})

describe("a misspelled top-level keyword costs that block only", () => {
  const text = `location ramses {
  site "cologne"
}
${softwareAndGroupings}${groupingG}
pipline first {
  data g
  location ramses
  trigger manual
  step a {
    run chai_calibration ^2.3
    group_by all
  }
}

${pipelineSecond}`
  it("one E007 on the misspelled word, with a suggestion", () => {
    const result = compile(text)
    expectCount(result.diagnostics, 1)
    const d = result.diagnostics[0]!
    expect(brief(d)).toBe(`E007@${text.split("\n").findIndex((l) => l.startsWith("pipline")) + 1}`)
    expect(text.slice(d.span.start, d.span.end)).toBe("pipline")
    expect(d.help.join(" ")).toContain("pipeline")
  })

  it("every other declaration is intact", () => {
    expect(outline(compile(text).files[0]!.declarations)).toEqual([
      "location ramses: site",
      "software chai_calibration: image, versions, command",
      "grouping g: where",
      "pipeline second: data, location, trigger, step c(run, group_by)"
    ])
  })

  it("also when the misspelled block is the last one, or the first", () => {
    const last = text.replace("pipline first", "pipeline first").replace("pipeline second", "pipline second")
    expect(describeAll(compile(last).diagnostics).map((d) => d.slice(0, 4))).toEqual(["E007"])
    const first = `pipline zero {\n  data g\n}\n\n${text.replace("pipline first", "pipeline first")}`
    const r = compile(first)
    expect(describeAll(r.diagnostics).map((d) => d.slice(0, 6))).toEqual(["E007@1"])
    expect(r.files[0]!.declarations.map((d) => d.name?.text)).toEqual(["ramses", "chai_calibration", "g", "first", "second"])
  })
})

describe("an unterminated string", () => {
  const text = `location ramses {
  site "cologne
  base_dir "/data"
}
${softwareAndGroupings}${groupingG}
${pipelineSecond}`
  it("reports E002 once, on the string, and nothing else", () => {
    const result = compile(text)
    expectCount(result.diagnostics, 1)
    const d = result.diagnostics[0]!
    expect(brief(d)).toBe("E002@2")
    expect(text.slice(d.span.start, d.span.end)).toBe('"cologne')
  })

  it("keeps the properties after it", () => {
    expect(outline(compile(text).files[0]!.declarations)[0]).toBe("location ramses: site, base_dir")
  })

  it("in a where, in a command and at the end of the file: once each", () => {
    const inWhere = text.replace('state == "ARCHIVED"', 'state == "ARCHIVED')
    expect(describeAll(compile(inWhere).diagnostics).map((d) => d.slice(0, 4))).toEqual(["E002", "E002"])
    const atEnd = `${text.replace('"cologne\n', '"cologne"\n')}\nsoftware other {\n  image "x`
    const r = compile(atEnd)
    expect(r.diagnostics.filter((d) => d.code === "E002")).toHaveLength(1)
  })
})
