import { HttpServerResponse } from "@effect/platform"
import { Duration, Schedule, Stream } from "effect"

/*
 * Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html): each
 * event a name and one JSON line. A comment every 15 s keeps proxies from closing a quiet
 * stream and lets the server notice a client that left.
 */

const encoder = new TextEncoder()

export const sseEvent = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`

const keepAlive = Stream.fromSchedule(Schedule.spaced(Duration.seconds(15))).pipe(Stream.map(() => ": ping\n\n"))

/** A response that streams `events` (already formatted by sseEvent) until they end or the client leaves. */
export const eventStreamResponse = <E>(events: Stream.Stream<string, E>): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(
    Stream.merge(Stream.make(": connected\n\n").pipe(Stream.concat(events)), keepAlive, { haltStrategy: "left" }).pipe(
      Stream.map((text) => encoder.encode(text))
    ),
    {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    }
  )
