import * as v from "valibot";
import { describe, expect, it } from "vitest";

import { issueToError } from "../src/package/issues.ts";

const schema = v.strictObject({
  title: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  tags: v.optional(v.pipe(v.array(v.string()), v.minLength(1))),
  nested: v.optional(v.object({ key: v.string() })),
  count: v.optional(v.number()),
});

function messageFor(input: unknown): { message: string; path: string | undefined } {
  const parsed = v.safeParse(schema, input);
  if (parsed.success) throw new Error(`${JSON.stringify(input)} unexpectedly passed`);
  const error = issueToError(parsed.issues, { code: "ERR_REQUEST_INVALID", prefix: "body" });
  return { message: error.message, path: error.path };
}

describe("issueToError messages", () => {
  it.each([
    [{ title: "" }, "body.title must have at least 1 character (received \"\")", "body.title"],
    [{ title: "t".repeat(201) }, "body.title must have at most 200 characters", "body.title"],
    [{ title: "ok", tags: [] }, "body.tags must have at least 1 item (received an array)", "body.tags"],
    [{ title: 5 }, "body.title must be a string (received 5)", "body.title"],
    [{ title: {} }, "body.title must be a string (received an object)", "body.title"],
    [{ title: "ok", count: "5" }, "body.count must be a number (received \"5\")", "body.count"],
    [{}, "body.title is missing", "body.title"],
    ["text", "body must be an object (received \"text\")", "body"],
    [[], "body must be an object, not an array", "body"],
    [{ title: "ok", nested: [] }, "body.nested must be an object, not an array", "body.nested"],
  ] as const)("words %j", (input, message, path) => {
    const result = messageFor(input);

    expect(result.message).toBe(message);
    expect(result.path).toBe(path);
  });
});
