import type * as A from "./ast.ts"
import { BlockView, type Located } from "./blocks.ts"
import type { DiagnosticSink } from "./diagnostics.ts"
import type { Placeholder, SoftwareModel } from "./model.ts"
import { compareVersions, formatVersion, parseVersion, type SemVer } from "./semver.ts"
import { subSpan, type Span } from "./span.ts"
import { didYouMeanText, suggest } from "./suggest.ts"

export const checkSoftware = (decl: A.Declaration, sink: DiagnosticSink): SoftwareModel | undefined => {
  const view = new BlockView("software", decl.name, decl.span, decl.properties, sink)
  const versions: Array<SemVer> = []
  const seen = new Map<string, Span>()
  let allVersionsValid = true
  for (const v of view.strings("versions")) {
    const parsed = parseVersion(v.value)
    if (parsed === null) {
      allVersionsValid = false
      sink.report("E061", v.span, { version: v.value }, { help: 'write versions as MAJOR.MINOR.PATCH, e.g. `"2.3.1"`' })
      continue
    }
    const key = formatVersion(parsed)
    const first = seen.get(key)
    if (first !== undefined) {
      sink.report("E062", v.span, { version: v.value }, { related: [{ span: first, message: "first declared here" }] })
      continue
    }
    seen.set(key, v.span)
    versions.push(parsed)
  }
  const image = view.string("image")
  if (image !== undefined) parsePlaceholders(image, sink, ["version"], "image")
  const command = view.string("command")
  const placeholders = command === undefined ? [] : parsePlaceholders(command, sink, ["version", "config"], "command")
  if (decl.name === undefined || image === undefined || command === undefined) return undefined
  return {
    name: decl.name.text,
    span: decl.span,
    description: view.string("description")?.value ?? null,
    image: image.value,
    versions: versions.sort(compareVersions),
    allVersionsValid,
    command: command.value,
    placeholders
  }
}

// A regex literal is a new object each time it is evaluated; this one runs per placeholder.
const configKeyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Finds `{version}` and `{config.a.b}` in a command or image; `{{` and `}}` stand for literal
 * braces. Spans point into the string literal (exact when the string has no escapes before it).
 */
export const parsePlaceholders = (
  text: Located<string>,
  sink: DiagnosticSink,
  allowed: ReadonlyArray<"version" | "config">,
  where: "command" | "image"
): ReadonlyArray<Placeholder> => {
  const out: Array<Placeholder> = []
  const s = text.value
  // Offsets inside the value are offsets into the literal only if no escape came first.
  const exact = text.span.end - text.span.start === s.length + 2
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "{" && s[i + 1] === "{") {
      i++
      continue
    }
    if (s[i] === "}" && s[i + 1] === "}") {
      i++
      continue
    }
    if (s[i] !== "{") continue
    const close = s.indexOf("}", i)
    const span = subSpan(text.span, i + 1, (close === -1 ? s.length : close + 1) + 1)
    if (close === -1) {
      sink.report("E074", span, {}, { help: "close it with `}`, or write `{{` for a literal brace" })
      break
    }
    const inner = s.slice(i + 1, close).trim()
    const configPath = inner.startsWith("config.") ? inner.slice("config.".length).split(".") : null
    const ok =
      (inner === "version" && allowed.includes("version")) ||
      (configPath !== null && allowed.includes("config") && configPath.every((p) => configKeyPattern.test(p)))
    if (!ok) {
      const close2 = suggest(
        inner,
        allowed.map((a) => (a === "config" ? `config.${inner.split(".").slice(1).join(".") || "key"}` : a))
      )
      sink.report(
        "E071",
        span,
        { placeholder: inner, where },
        {
          help:
            didYouMeanText(close2, { as: "placeholder" }) ??
            `placeholders here: ${allowed.map((a) => (a === "config" ? "`{config.KEY}`" : "`{version}`")).join(", ")}; write \`{{\` for a literal brace`,
          fixes: close2 === undefined || !exact ? [] : [{ title: `Replace with \`{${close2}}\``, span, replacement: `{${close2}}` }]
        }
      )
    } else out.push({ text: inner, configPath, span })
    i = close
  }
  return out
}
