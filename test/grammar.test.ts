import { describe, it, expect } from "vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { ccatLexer, keywords, keywordText } from "../src/compiler/lexer.ts"
import { parser, parseText } from "../src/compiler/parser.ts"

/*
 * Keeps grammar/ in step with the compiler: the EBNF names every parser rule and every keyword,
 * the TextMate grammar highlights every keyword as a whole word, and a small hand-rolled
 * TextMate tokenizer (vscode-textmate is not a dependency) checks the scopes of key constructs.
 * The TextMate regexes are kept compatible with both Oniguruma and JavaScript so that this works.
 */

const repoRoot = fileURLToPath(new URL("../", import.meta.url))
const readRepoFile = (path: string): string => readFileSync(`${repoRoot}${path}`, "utf8")

// ---------------------------------------------------------------------------------------------
// The files

interface Capture {
  readonly name?: string
}

interface Rule {
  readonly include?: string
  readonly name?: string
  readonly comment?: string
  readonly match?: string
  readonly begin?: string
  readonly end?: string
  readonly captures?: Readonly<Record<string, Capture>>
  readonly beginCaptures?: Readonly<Record<string, Capture>>
  readonly endCaptures?: Readonly<Record<string, Capture>>
  readonly patterns?: ReadonlyArray<Rule>
}

interface Grammar {
  readonly scopeName: string
  readonly fileTypes: ReadonlyArray<string>
  readonly patterns: ReadonlyArray<Rule>
  readonly repository: Readonly<Record<string, Rule>>
}

interface LanguageConfiguration {
  readonly comments: { readonly lineComment: string; readonly blockComment: [string, string] }
  readonly brackets: ReadonlyArray<[string, string]>
  readonly autoClosingPairs: ReadonlyArray<{ readonly open: string; readonly close: string; readonly notIn?: ReadonlyArray<string> }>
  readonly surroundingPairs: ReadonlyArray<[string, string]>
  readonly wordPattern: string
  readonly indentationRules: { readonly increaseIndentPattern: string; readonly decreaseIndentPattern: string }
}

const ebnf = readRepoFile("grammar/ccat.ebnf")
const grammarText = readRepoFile("grammar/ccat.tmLanguage.json")
const configText = readRepoFile("grammar/language-configuration.json")

const grammar = JSON.parse(grammarText) as Grammar
const languageConfiguration = JSON.parse(configText) as LanguageConfiguration

const keywordWords: ReadonlyArray<string> = keywords.map((t) => {
  const word = keywordText(t)
  if (word === undefined) throw new Error(`not a keyword token: ${t.name}`)
  return word
})

const recoveryRules = ["unknownDeclaration", "unknownProperty", "strayTopLevel", "strayInBlock", "skippedBlock"]

// ---------------------------------------------------------------------------------------------
// A tiny reader of W3C EBNF: definitions, references and quoted terminals, comments skipped.

interface EbnfScan {
  readonly definitions: ReadonlyArray<string>
  readonly references: ReadonlySet<string>
  readonly terminals: ReadonlySet<string>
}

const scanEbnf = (text: string): EbnfScan => {
  const words: Array<{ word: string; defines: boolean }> = []
  const terminals = new Set<string>()
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (text.startsWith("/*", i)) {
      const close = text.indexOf("*/", i + 2)
      if (close === -1) throw new Error(`unterminated EBNF comment at offset ${i}`)
      i = close + 2
    } else if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1)
      if (close === -1) throw new Error(`unterminated EBNF terminal at offset ${i}`)
      terminals.add(text.slice(i + 1, close))
      i = close + 1
    } else if (c === "[") {
      const close = text.indexOf("]", i + 1)
      if (close === -1) throw new Error(`unterminated EBNF character class at offset ${i}`)
      i = close + 1
    } else if (c === "#" && text[i + 1] === "x") {
      i += 2
      while (i < text.length && /[0-9A-Fa-f]/.test(text[i]!)) i++
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0]
      i += word.length
      const defines = /^\s*::=/.test(text.slice(i))
      words.push({ word, defines })
    } else {
      i++
    }
  }
  return {
    definitions: words.filter((w) => w.defines).map((w) => w.word),
    references: new Set(words.filter((w) => !w.defines).map((w) => w.word)),
    terminals
  }
}

// ---------------------------------------------------------------------------------------------
// A minimal TextMate tokenizer: match and begin/end rules, captures, includes, line by line.
// At each position the earliest match wins; on a tie the end pattern wins, then the first rule.

const regexCache = new Map<string, RegExp>()
const compile = (source: string): RegExp => {
  let re = regexCache.get(source)
  if (re === undefined) {
    re = new RegExp(source, "dg")
    regexCache.set(source, re)
  }
  return re
}

const flatten = (rules: ReadonlyArray<Rule>, seen: ReadonlySet<string> = new Set()): Array<Rule> => {
  const out: Array<Rule> = []
  for (const rule of rules) {
    if (rule.include !== undefined) {
      if (rule.include === "$self") {
        out.push(...flatten(grammar.patterns, seen))
        continue
      }
      const key = rule.include.slice(1)
      if (seen.has(key)) continue
      const target = grammar.repository[key]
      if (target === undefined) throw new Error(`unknown include ${rule.include}`)
      if (target.match !== undefined || target.begin !== undefined) out.push(target)
      else out.push(...flatten(target.patterns ?? [], new Set([...seen, key])))
    } else if (rule.match !== undefined || rule.begin !== undefined) {
      out.push(rule)
    } else {
      out.push(...flatten(rule.patterns ?? [], seen))
    }
  }
  return out
}

const scopeList = (name: string | undefined): Array<string> => (name === undefined ? [] : name.split(/\s+/).filter((s) => s !== ""))

interface Frame {
  readonly rule: Rule | undefined
  readonly scopes: ReadonlyArray<string>
  readonly patterns: ReadonlyArray<Rule>
}

/** The scopes of every character of `text` (newlines get the scopes of the enclosing rules). */
const tokenize = (text: string): Array<ReadonlyArray<string>> => {
  const stack: Array<Frame> = [{ rule: undefined, scopes: [grammar.scopeName], patterns: flatten(grammar.patterns) }]
  const out: Array<ReadonlyArray<string>> = []
  for (const line of text.split("\n")) {
    const chars: Array<ReadonlyArray<string>> = new Array<ReadonlyArray<string>>(line.length)
    const paint = (from: number, to: number, scopes: ReadonlyArray<string>): void => {
      for (let k = from; k < to; k++) chars[k] = scopes
    }
    const paintMatch = (m: RegExpExecArray, base: ReadonlyArray<string>, captures: Readonly<Record<string, Capture>> | undefined): void => {
      paint(m.index, m.index + m[0].length, base)
      const keys = Object.keys(captures ?? {})
        .map(Number)
        .sort((a, b) => a - b)
      for (const key of keys) {
        const span = m.indices?.[key]
        if (span === undefined) continue
        const extra = scopeList(captures![String(key)]!.name)
        for (let k = span[0]; k < span[1]; k++) chars[k] = [...chars[k]!, ...extra]
      }
    }
    let pos = 0
    let guard = 0
    while (pos <= line.length) {
      if (++guard > 10_000) throw new Error(`tokenizer loops on line: ${line}`)
      const frame = stack[stack.length - 1]!
      let best: { m: RegExpExecArray; rule: Rule | undefined } | undefined
      if (frame.rule?.end !== undefined) {
        const re = compile(frame.rule.end)
        re.lastIndex = pos
        const m = re.exec(line)
        if (m !== null) best = { m, rule: undefined }
      }
      for (const rule of frame.patterns) {
        const re = compile((rule.match ?? rule.begin)!)
        re.lastIndex = pos
        const m = re.exec(line)
        if (m !== null && (best === undefined || m.index < best.m.index)) best = { m, rule }
      }
      if (best === undefined) {
        paint(pos, line.length, frame.scopes)
        break
      }
      const { m, rule } = best
      paint(pos, m.index, frame.scopes)
      const matchEnd = m.index + m[0].length
      if (rule === undefined) {
        paintMatch(m, frame.scopes, frame.rule!.endCaptures)
        stack.pop()
      } else if (rule.match !== undefined) {
        paintMatch(m, [...frame.scopes, ...scopeList(rule.name)], rule.captures)
        if (matchEnd === m.index) {
          // A zero-width match: step over one character so the scan always advances.
          paint(m.index, Math.min(m.index + 1, line.length), frame.scopes)
          pos = m.index + 1
          continue
        }
      } else {
        const scopes = [...frame.scopes, ...scopeList(rule.name)]
        paintMatch(m, scopes, rule.beginCaptures ?? rule.captures)
        stack.push({ rule, scopes, patterns: flatten(rule.patterns ?? []) })
      }
      pos = matchEnd
    }
    out.push(...chars, stack[stack.length - 1]!.scopes)
  }
  return out.slice(0, text.length)
}

/** The scopes of each character of the first `needle` in `text`. */
const charScopes = (text: string, needle: string): Array<ReadonlyArray<string>> => {
  const at = text.indexOf(needle)
  if (at === -1) throw new Error(`\`${needle}\` is not in ${JSON.stringify(text)}`)
  return tokenize(text).slice(at, at + needle.length)
}

/** The scopes shared by every character of the first `needle` in `text`. */
const scopesOf = (text: string, needle: string): ReadonlyArray<string> => {
  const chars = charScopes(text, needle)
  return chars.reduce<ReadonlyArray<string>>((acc, s) => acc.filter((x) => s.includes(x)), chars[0]!)
}

/** The scopes of any character of the first `needle` in `text`. */
const anyScopesOf = (text: string, needle: string): ReadonlyArray<string> => [...new Set(charScopes(text, needle).flat())]

const isKeywordScope = (scope: string): boolean =>
  scope.startsWith("keyword.") || scope.startsWith("storage.type") || scope.startsWith("constant.language")

const hasKeywordScope = (scopes: ReadonlyArray<string>): boolean => scopes.some(isKeywordScope)

/** Every rule of the grammar, with where it sits, for regex-level checks. */
const allRules = (): Array<{ path: string; rule: Rule }> => {
  const out: Array<{ path: string; rule: Rule }> = []
  const walk = (rule: Rule, path: string): void => {
    out.push({ path, rule })
    ;(rule.patterns ?? []).forEach((r, i) => walk(r, `${path}.patterns[${i}]`))
  }
  grammar.patterns.forEach((r, i) => walk(r, `patterns[${i}]`))
  for (const [key, rule] of Object.entries(grammar.repository)) walk(rule, `repository.${key}`)
  return out
}

const regexSources = (): Array<{ path: string; source: string }> =>
  allRules().flatMap(({ path, rule }) =>
    (["match", "begin", "end"] as const).filter((k) => rule[k] !== undefined).map((k) => ({ path: `${path}.${k}`, source: rule[k]! }))
  )

// Inside a pipeline's braces, where property keywords live.
const inBody = (text: string): string => `pipeline p {\n  ${text}\n}\n`

// ---------------------------------------------------------------------------------------------

describe("grammar files", () => {
  it("are valid JSON with the expected identity", () => {
    expect(() => JSON.parse(grammarText)).not.toThrow()
    expect(() => JSON.parse(configText)).not.toThrow()
    expect(grammar.scopeName).toBe("source.ccat")
    expect(grammar.fileTypes).toEqual(["ccat"])
    expect(Object.keys(grammar.repository).length).toBeGreaterThan(0)
  })

  it("language configuration has comments, brackets, pairs, word pattern and indentation", () => {
    const c = languageConfiguration
    expect(c.comments).toEqual({ lineComment: "//", blockComment: ["/*", "*/"] })
    expect(c.brackets).toEqual([
      ["{", "}"],
      ["[", "]"],
      ["(", ")"]
    ])
    const quote = c.autoClosingPairs.find((p) => p.open === '"')
    expect(quote?.close).toBe('"')
    expect(quote?.notIn).toContain("string")
    for (const [open, close] of c.brackets) expect(c.autoClosingPairs).toContainEqual({ open, close })
    expect(c.surroundingPairs).toContainEqual(['"', '"'])

    const word = new RegExp(`^(?:${c.wordPattern})$`)
    for (const w of ["group_by", "chai_calibration", "_x1", "16GiB", "85%", "-50", "2.5"]) expect(word.test(w), w).toBe(true)
    expect(word.test("a.b")).toBe(false)

    const increase = new RegExp(c.indentationRules.increaseIndentPattern)
    const decrease = new RegExp(c.indentationRules.decreaseIndentPattern)
    expect(increase.test("pipeline chai_standing {")).toBe(true)
    expect(increase.test("  config { order = 3 }")).toBe(false)
    expect(decrease.test("  }")).toBe(true)
    expect(decrease.test("  step map {")).toBe(false)
  })
})

describe("ccat.ebnf", () => {
  const scan = scanEbnf(ebnf)

  it("defines every parser rule except the recovery rules", () => {
    const ruleNames = Object.keys(parser.getGAstProductions())
    for (const r of recoveryRules) expect(ruleNames, `recovery rule ${r} is gone from parser.ts`).toContain(r)
    const grammarRules = ruleNames.filter((r) => !recoveryRules.includes(r))
    expect(grammarRules.length).toBeGreaterThan(20)
    for (const r of grammarRules) {
      expect(new RegExp(`^${r}\\s*::=`, "m").test(ebnf), `rule \`${r} ::=\` in ccat.ebnf`).toBe(true)
    }
  })

  it("mentions the recovery rules without defining them", () => {
    for (const r of recoveryRules) {
      expect(ebnf).toContain(r)
      expect(scan.definitions).not.toContain(r)
    }
  })

  it("defines each rule once and every rule it references", () => {
    const defined = new Set(scan.definitions)
    expect(scan.definitions.length).toBe(defined.size)
    const undefinedRefs = [...scan.references].filter((r) => !defined.has(r))
    expect(undefinedRefs).toEqual([])
  })

  it("spells every keyword as a quoted terminal", () => {
    expect(keywordWords.length).toBeGreaterThan(30)
    for (const word of keywordWords) expect(scan.terminals.has(word), `"${word}" in ccat.ebnf`).toBe(true)
  })

  it("lists exactly the reserved words of the lexer", () => {
    const reserved = keywords.filter((t) => !(t.CATEGORIES ?? []).some((c) => c.name === "Name")).map((t) => keywordText(t))
    const rule = /^reservedWord\s*::=([^\n]*)$/m.exec(ebnf)
    expect(rule).not.toBeNull()
    const listed = [...rule![1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1])
    expect(listed.sort()).toEqual([...reserved].sort())
  })
})

describe("ccat.tmLanguage.json", () => {
  it("has only regexes that JavaScript compiles and Oniguruma reads the same way", () => {
    const sources = regexSources()
    expect(sources.length).toBeGreaterThan(20)
    for (const { path, source } of sources) {
      expect(() => new RegExp(source, "dg"), path).not.toThrow()
      // Oniguruma-only syntax, or syntax whose meaning differs between the engines.
      expect(source, path).not.toMatch(/\\[GAzZhH]|\(\?[imx-]+[):]|\(\?<[A-Za-z]|\\[pP]\{/)
      // Oniguruma wants look-behinds of fixed length.
      for (const lb of source.matchAll(/\(\?<[=!]((?:\\.|[^()\\])*)\)/g)) expect(lb[1], path).not.toMatch(/[*+?{]/)
    }
  })

  it("resolves every include", () => {
    for (const { path, rule } of allRules()) {
      if (rule.include === undefined || rule.include === "$self") continue
      expect(grammar.repository[rule.include.slice(1)], `${path}: ${rule.include}`).toBeDefined()
    }
  })

  it("highlights every keyword of the lexer as a whole word", () => {
    for (const word of keywordWords) {
      const atTop = scopesOf(word, word)
      const inside = scopesOf(inBody(word), word)
      expect(hasKeywordScope(atTop) || hasKeywordScope(inside), `${word}: ${atTop.join(" ")} / ${inside.join(" ")}`).toBe(true)
    }
  })

  it("does not highlight keywords inside longer words", () => {
    const near = keywordWords.flatMap((w) => [`${w}x`, `x${w}`, `${w}_1`, `_${w}`, `${w}9`])
    for (const word of ["stepper", "locations", "index", "order", "android", "nothing", "trueish", "dataset", "configs", ...near]) {
      for (const text of [word, inBody(word)]) {
        const scopes = anyScopesOf(text, word)
        expect(hasKeywordScope(scopes), `${JSON.stringify(text)}: ${scopes.join(" ")}`).toBe(false)
      }
    }
  })

  it("has a keyword rule whose regex matches each keyword", () => {
    const keywordRules = allRules().filter(({ rule }) => {
      const names = [
        rule.name,
        ...Object.values(rule.captures ?? {}).map((c) => c.name),
        ...Object.values(rule.beginCaptures ?? {}).map((c) => c.name)
      ]
      return (rule.match ?? rule.begin) !== undefined && names.some((n) => n !== undefined && scopeList(n).some(isKeywordScope))
    })
    for (const word of keywordWords) {
      const hits = keywordRules.filter(
        ({ rule }) => new RegExp(`^(?:${rule.match ?? rule.begin})`).exec(word)?.[0].startsWith(word) === true
      )
      expect(hits.length, `a keyword rule matches \`${word}\``).toBeGreaterThan(0)
    }
  })
})

// A sample with the constructs that matter; it is also checked to be valid syntax.
const sample = String.raw`// Standing CHAI reduction.
/* a block
   comment */
location ramses {
  site "cologne"
  backend slurm { partition "batch"  account "ccat" }
  purge_above 85%
  container apptainer
}

software chai_calibration {
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.3.1", 2.4.0
  command "calibrate --mode {config.calibration_mode} --tab \t {{literal}} \q"
}

grouping ngc253_co43 {
  from chai_archived
  where InstrumentModule.name in ("LFA", "HFA") and not Source.name like "IRC%"
  where RawDataPackage.metadata.observation.frequency_ghz > 400
  where ExecutedObsUnit.start_time >= 2026-06-01T12:00:00Z or ExecutedObsUnit.start_time < 2026-01-01
}

pipeline chai_standing {
  data ngc253_co43
  location ramses
  trigger cron "0 3 * * *" timezone "UTC"
  enabled false
  priority -10

  step calibrate {
    run chai_calibration ^2.3
    group_by source, line
    cooldown 60s
    config { calibration_mode = "hot_cold"  window_kms = [-50, 50.5]  nested = { final = true } }
    resources { cpus 4  memory 16GiB  time 2h }
    outputs { science "maps/*.fits" min 2  plots min 0 }
    retries 3 on TIMEOUT, OOM { on OOM memory x2  on TIMEOUT time x1.5 }
    final
  }

  step baseline {
    after calibrate, other
    run chai_baseline >=1.0
    group_by executed_obs_unit
    timeout 1.5h
    version_policy exact
    resources { memory 16G }
    retries 2 on NODE_FAIL, LOST {
      on NODE_FAIL cpus x2 // a comment
    }
    priority 1
  }
}
`

describe("TextMate scopes of a sample", () => {
  it("the sample is valid syntax", () => {
    const out = parseText(sample)
    expect(out.lexErrors).toEqual([])
    expect(out.parseErrors.map((e) => e.message)).toEqual([])
  })

  /** The scopes of `sub` (its last occurrence) inside the first occurrence of `context`. */
  const scopesIn = (context: string, sub: string): ReadonlyArray<string> => {
    const at = sample.indexOf(context)
    if (at === -1) throw new Error(`\`${context}\` is not in the sample`)
    const offset = context.lastIndexOf(sub)
    if (offset === -1) throw new Error(`\`${sub}\` is not in \`${context}\``)
    const chars = tokenize(sample).slice(at + offset, at + offset + sub.length)
    return chars.reduce<ReadonlyArray<string>>((acc, s) => acc.filter((x) => s.includes(x)), chars[0]!)
  }
  const has = (context: string, sub: string, scope: string): void => {
    const scopes = scopesIn(context, sub)
    expect(scopes, `\`${sub}\` in \`${context}\``).toContain(scope)
  }
  const hasNo = (context: string, sub: string, prefix: string): void => {
    const scopes = scopesIn(context, sub)
    expect(
      scopes.some((s) => s.startsWith(prefix)),
      `\`${sub}\` in \`${context}\`: ${scopes.join(" ")}`
    ).toBe(false)
  }

  it("comments", () => {
    has("// Standing CHAI reduction.", "// Standing CHAI reduction.", "comment.line.double-slash.ccat")
    hasNo("// Standing CHAI reduction.", "and", "keyword")
    has("/* a block", "a block", "comment.block.ccat")
    has("   comment */", "comment */", "comment.block.ccat")
  })

  it("declarations and their names", () => {
    has("location ramses {", "location", "storage.type.ccat")
    has("location ramses {", "ramses", "entity.name.type.ccat")
    has("software chai_calibration {", "software", "storage.type.ccat")
    has("software chai_calibration {", "chai_calibration", "entity.name.type.ccat")
    has("grouping ngc253_co43 {", "grouping", "storage.type.ccat")
    has("grouping ngc253_co43 {", "ngc253_co43", "entity.name.type.ccat")
    has("pipeline chai_standing {", "pipeline", "storage.type.ccat")
    has("pipeline chai_standing {", "chai_standing", "entity.name.type.ccat")
    has("step calibrate {", "step", "storage.type.ccat")
    has("step calibrate {", "calibrate", "entity.name.function.ccat")
    has("step baseline {", "baseline", "entity.name.function.ccat")
  })

  it("properties and references", () => {
    has('site "cologne"', "site", "keyword.other.ccat")
    has("purge_above 85%", "purge_above", "keyword.other.ccat")
    has("  location ramses\n", "location", "keyword.other.ccat")
    hasNo("  location ramses\n", "location", "storage.type")
    has("  location ramses\n", "ramses", "entity.name.type.ccat")
    has("  data ngc253_co43", "ngc253_co43", "entity.name.type.ccat")
    has("from chai_archived", "from", "keyword.other.ccat")
    has("from chai_archived", "chai_archived", "entity.name.type.ccat")
    has("after calibrate, other", "after", "keyword.other.ccat")
    has("after calibrate, other", "calibrate", "entity.name.function.ccat")
    has("after calibrate, other", "other", "entity.name.function.ccat")
    has("group_by source, line", "group_by", "keyword.other.ccat")
    has("group_by source, line", "source", "support.constant.dimension.ccat")
    has("group_by source, line", "line", "support.constant.dimension.ccat")
    has("group_by executed_obs_unit", "executed_obs_unit", "support.constant.dimension.ccat")
    has("backend slurm", "backend", "keyword.other.ccat")
    has("backend slurm", "slurm", "support.constant.backend.ccat")
    has("version_policy exact", "exact", "support.constant.ccat")
    has("container apptainer", "apptainer", "support.constant.ccat")
    has('trigger cron "0 3 * * *" timezone', "trigger", "keyword.other.ccat")
    has('trigger cron "0 3 * * *" timezone', "cron", "constant.language.trigger.ccat")
    has('trigger cron "0 3 * * *" timezone', "timezone", "keyword.other.ccat")
    has("  enabled false", "enabled", "keyword.other.ccat")
  })

  it("strings, escapes and placeholders", () => {
    has('site "cologne"', '"cologne"', "string.quoted.double.ccat")
    has(":{version}", "{version}", "variable.other.placeholder.ccat")
    has(":{version}", "{version}", "string.quoted.double.ccat")
    has("{config.calibration_mode}", "{config.calibration_mode}", "variable.other.placeholder.ccat")
    has("--tab \\t", "\\t", "constant.character.escape.ccat")
    has("{{literal}}", "{{", "constant.character.escape.brace.ccat")
    hasNo("{{literal}}", "literal", "variable.other.placeholder")
    has("{{literal}} \\q", "\\q", "invalid.illegal.unrecognized-escape.ccat")
    has('"0 3 * * *"', "* * *", "string.quoted.double.ccat")
    hasNo('"0 3 * * *"', "* * *", "keyword")
  })

  it("filters", () => {
    has("where InstrumentModule.name", "InstrumentModule", "support.class.ccat")
    has("where InstrumentModule.name", ".", "punctuation.accessor.ccat")
    has("where InstrumentModule.name", "name", "variable.other.property.ccat")
    has("RawDataPackage.metadata.observation.frequency_ghz", "RawDataPackage", "support.class.ccat")
    has("RawDataPackage.metadata.observation.frequency_ghz", "metadata", "variable.other.property.ccat")
    has("RawDataPackage.metadata.observation.frequency_ghz", "observation", "variable.other.property.ccat")
    has("RawDataPackage.metadata.observation.frequency_ghz", "frequency_ghz", "variable.other.property.ccat")
    has('name in ("LFA"', "in", "keyword.operator.logical.ccat")
    has('name in ("LFA"', '"LFA"', "string.quoted.double.ccat")
    has("and not Source.name like", "and", "keyword.operator.logical.ccat")
    has("and not Source.name like", "not", "keyword.operator.logical.ccat")
    has("and not Source.name like", "like", "keyword.operator.logical.ccat")
    has("Z or ExecutedObsUnit", "or", "keyword.operator.logical.ccat")
    has("frequency_ghz > 400", ">", "keyword.operator.comparison.ccat")
    has("frequency_ghz > 400", "400", "constant.numeric.integer.ccat")
    has("start_time >= 2026", ">=", "keyword.operator.comparison.ccat")
    has("start_time < 2026", "<", "keyword.operator.comparison.ccat")
  })

  it("literals", () => {
    has("purge_above 85%", "85", "constant.numeric.percentage.ccat")
    has("purge_above 85%", "%", "keyword.other.unit.ccat")
    has("2026-06-01T12:00:00Z", "2026-06-01T12:00:00Z", "constant.numeric.timestamp.ccat")
    has("< 2026-01-01", "2026-01-01", "constant.numeric.date.ccat")
    has('"2.3.1", 2.4.0', "2.4.0", "constant.numeric.version.ccat")
    has("enabled false", "false", "constant.language.boolean.ccat")
    has("final = true", "true", "constant.language.boolean.ccat")
    has("priority -10", "-10", "constant.numeric.integer.ccat")
    has("[-50, 50.5]", "-50", "constant.numeric.integer.ccat")
    has("[-50, 50.5]", "50.5", "constant.numeric.decimal.ccat")
    has("cooldown 60s", "60", "constant.numeric.ccat")
    has("cooldown 60s", "s", "keyword.other.unit.ccat")
    has("memory 16GiB", "16", "constant.numeric.ccat")
    has("memory 16GiB", "GiB", "keyword.other.unit.ccat")
    has("timeout 1.5h", "1.5", "constant.numeric.ccat")
    has("timeout 1.5h", "h", "keyword.other.unit.ccat")
    has("memory 16G }", "G", "invalid.illegal.unit.ccat")
    hasNo("memory 16G }", "G", "keyword.other.unit")
  })

  it("version ranges", () => {
    has("run chai_calibration ^2.3", "run", "keyword.other.ccat")
    has("run chai_calibration ^2.3", "chai_calibration", "entity.name.type.ccat")
    has("run chai_calibration ^2.3", "^", "keyword.operator.version.ccat")
    has("run chai_calibration ^2.3", "2.3", "constant.numeric.version.ccat")
    has("run chai_baseline >=1.0", "chai_baseline", "entity.name.type.ccat")
    has("run chai_baseline >=1.0", ">=", "keyword.operator.version.ccat")
    has("run chai_baseline >=1.0", "1.0", "constant.numeric.version.ccat")
  })

  it("config maps and resource entries", () => {
    has("config { calibration_mode", "config", "keyword.other.ccat")
    has('calibration_mode = "hot_cold"', "calibration_mode", "variable.other.key.ccat")
    has('calibration_mode = "hot_cold"', "=", "keyword.operator.assignment.ccat")
    has("window_kms = [", "window_kms", "variable.other.key.ccat")
    has("{ final = true }", "final", "variable.other.key.ccat")
    hasNo("{ final = true }", "final", "keyword")
    has("resources { cpus 4", "resources", "keyword.other.ccat")
    has("resources { cpus 4", "cpus", "variable.other.key.ccat")
    has("memory 16GiB", "memory", "variable.other.key.ccat")
    has("time 2h", "time", "variable.other.key.ccat")
    has('{ partition "batch"', "partition", "variable.other.key.ccat")
    has('account "ccat" }', '"ccat"', "string.quoted.double.ccat")
    // After the braces close, the block's properties highlight again.
    has("    final\n", "final", "keyword.other.ccat")
    has("  purge_above", "purge_above", "keyword.other.ccat")
    has("    group_by executed_obs_unit", "group_by", "keyword.other.ccat")
  })

  it("outputs rules", () => {
    has("outputs { science", "outputs", "keyword.other.ccat")
    has('outputs { science "maps', "science", "support.constant.output-kind.ccat")
    has('science "maps/*.fits"', '"maps/*.fits"', "string.quoted.double.ccat")
    has('"maps/*.fits" min 2', "min", "keyword.other.ccat")
    has('"maps/*.fits" min 2', "2", "constant.numeric.integer.ccat")
    has("plots min 0 }", "plots", "support.constant.output-kind.ccat")
    hasNo('"maps/*.fits" min 2', "*", "keyword")
    // After the braces close, the block's properties highlight again.
    has("    final\n", "final", "keyword.other.ccat")
  })

  it("retries", () => {
    has("retries 3 on TIMEOUT", "retries", "keyword.other.ccat")
    has("retries 3 on TIMEOUT", "3", "constant.numeric.integer.ccat")
    has("retries 3 on TIMEOUT", "on", "keyword.other.ccat")
    has("retries 3 on TIMEOUT", "TIMEOUT", "support.constant.failure-reason.ccat")
    has("on TIMEOUT, OOM {", "OOM", "support.constant.failure-reason.ccat")
    has("{ on OOM memory x2", "on", "keyword.other.ccat")
    has("{ on OOM memory x2", "OOM", "support.constant.failure-reason.ccat")
    has("{ on OOM memory x2", "memory", "variable.other.key.ccat")
    has("{ on OOM memory x2", "x2", "constant.numeric.factor.ccat")
    has("on TIMEOUT time x1.5 }", "time", "variable.other.key.ccat")
    has("on TIMEOUT time x1.5 }", "x1.5", "constant.numeric.factor.ccat")
    hasNo("on TIMEOUT time x1.5 }", "x1.5", "keyword")
    // Over several lines, with a comment; the properties after it highlight again.
    has("on NODE_FAIL cpus x2", "NODE_FAIL", "support.constant.failure-reason.ccat")
    has("on NODE_FAIL cpus x2", "cpus", "variable.other.key.ccat")
    has("cpus x2 // a comment", "// a comment", "comment.line.double-slash.ccat")
    has("    priority 1", "priority", "keyword.other.ccat")
    has("    final\n", "final", "keyword.other.ccat")
    has("on NODE_FAIL, LOST {", "LOST", "support.constant.failure-reason.ccat")
  })

  it("agrees with the lexer on the kind of each literal", () => {
    const cases: ReadonlyArray<[string, string, string]> = [
      ["2026-06-01", "DateLiteral", "constant.numeric.date.ccat"],
      ["2026-06-01T12:00Z", "Timestamp", "constant.numeric.timestamp.ccat"],
      ["0.9.2-rc.1", "VersionLiteral", "constant.numeric.version.ccat"],
      ["85%", "Percent", "constant.numeric.percentage.ccat"],
      ["2.5", "DecimalLiteral", "constant.numeric.decimal.ccat"],
      ["1e3", "DecimalLiteral", "constant.numeric.decimal.ccat"],
      ["-7", "IntegerLiteral", "constant.numeric.integer.ccat"],
      ["2.5h", "Quantity", "keyword.other.unit.ccat"],
      // Not `1.2` `5h` nor `1e99` `9s`: a decimal never ends inside a run of digits.
      ["1.25h", "Quantity", "keyword.other.unit.ccat"],
      ["10.75GiB", "Quantity", "keyword.other.unit.ccat"],
      ["1e999s", "Quantity", "keyword.other.unit.ccat"],
      ["1.5e3ms", "Quantity", "keyword.other.unit.ccat"],
      ["1e999", "DecimalLiteral", "constant.numeric.decimal.ccat"],
      ["512MiB", "Quantity", "keyword.other.unit.ccat"],
      ["16G", "Quantity", "invalid.illegal.unit.ccat"]
    ]
    for (const [text, tokenName, scope] of cases) {
      const lexed = ccatLexer.tokenize(text)
      expect(
        lexed.tokens.map((t) => t.tokenType.name),
        text
      ).toEqual([tokenName])
      const scopes = tokenize(inBody(`priority ${text}`))
      const at = inBody(`priority ${text}`).indexOf(text)
      const all = new Set(scopes.slice(at, at + text.length).flat())
      expect(all.has(scope), `${text}: ${[...all].join(" ")}`).toBe(true)
    }
  })
})
