import { compileSources } from "../../src/compiler/compile.ts"

/*
 * A compiler with a bug, for the crash tests: on a file holding `crashMarker` it overflows the
 * stack for real (unbounded recursion), as the compiler's deep-recursion bugs did; on any other
 * input it is the real compiler. The fault is injected: the real compiler's crashes are being
 * fixed, so none stays reachable to test with.
 */

export const crashMarker = "// the compiler overflows its stack on this file"

const recurse = (depth: number): number => recurse(depth + 1) + 1

export const faultyCompile: typeof compileSources = (inputs, options) => {
  if (inputs.some((input) => input.text.includes(crashMarker))) recurse(0)
  return compileSources(inputs, options)
}
