import * as v from "valibot";

import { BerthError, type ErrorCode } from "../errors.ts";

/** Options of {@link issueToError}: the codes and the path prefix of the error. */
export interface IssueOptions {
  /** Code for a value that does not match its schema. */
  code: ErrorCode;
  /** Code for a key a strict object does not define; defaults to `code`. */
  unknownKeyCode?: ErrorCode;
  /** Path prefix naming the input, such as `manifest` or `body`. */
  prefix: string;
  /** Whether the message may quote the received value; false for plugin output. */
  quoteReceived?: boolean;
}

/**
 * Turns the first valibot issue into a {@link BerthError} whose path names the
 * field, such as `manifest.hooks.ticket.created.method`.
 */
export function issueToError(issues: readonly v.BaseIssue<unknown>[], options: IssueOptions): BerthError {
  const issue = issues[0];
  if (issue === undefined) return new BerthError(options.code, `${options.prefix} is invalid`, { path: options.prefix });

  // valibot checks an array against an object schema key by key, so `[]` would
  // read as a missing key. Report the array itself instead.
  const items = issue.path ?? [];
  const arrayIndex = items.findIndex((item) => item.type === "object" && Array.isArray(item.input));
  if (arrayIndex !== -1) {
    const arrayPath = [options.prefix, ...items.slice(0, arrayIndex).map((item) => String(item.key))].join(".");
    return new BerthError(options.code, `${arrayPath} must be an object, not an array`, { path: arrayPath });
  }

  const dotPath = v.getDotPath(issue);
  const path = dotPath === null ? options.prefix : `${options.prefix}.${dotPath}`;

  // A strict object reports an unknown key as a value expected to be `never`.
  if (issue.type === "strict_object" && issue.expected === "never") {
    return new BerthError(
      options.unknownKeyCode ?? options.code,
      `${path} is not a known key; remove it or check its spelling`,
      { path },
    );
  }

  const quote = options.quoteReceived ?? true;
  const shown = quote ? receivedValue(issue) : undefined;
  const received = shown !== undefined && shown.length <= 80 ? ` (received ${shown})` : "";
  return new BerthError(options.code, `${path} ${describe(issue)}${received}`, { path });
}

/**
 * Formats the value at the issue's path. A check forwarded from an object to one
 * of its keys carries the whole object as its input, so the path's last item
 * holds the value the message is about.
 */
function receivedValue(issue: v.BaseIssue<unknown>): string | undefined {
  const last = issue.path?.[issue.path.length - 1];
  const value: unknown = last === undefined ? issue.input : last.value;
  if (value === undefined) return undefined;
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value === null || typeof value !== "object") return String(value);
  return "an object";
}

function describe(issue: v.BaseIssue<unknown>): string {
  // Our own schema messages start with "must"; valibot's defaults read "Invalid type: ...".
  if (issue.message.startsWith("must")) return issue.message;
  if (issue.received === "undefined") {
    // For a missing key valibot's expected value is only the quoted key name.
    return issue.expected === null || issue.expected.startsWith('"') ? "is missing" : `is missing; expected ${typeName(issue.expected)}`;
  }
  const length = describeLength(issue);
  if (length !== undefined) return length;
  return `must be ${typeName(issue.expected)}`;
}

/** Turns valibot's expected type name, such as `Object`, into message text such as "an object". */
function typeName(expected: string | null): string {
  switch (expected) {
    case null:
      return "valid";
    case "Object":
      return "an object";
    case "Array":
      return "an array";
    case "string":
    case "number":
    case "boolean":
      return `a ${expected}`;
    default:
      return expected;
  }
}

/** Describes a failed `minLength` or `maxLength` as "must have at least 1 character" or "... at most 16 items". */
function describeLength(issue: v.BaseIssue<unknown>): string | undefined {
  if (issue.type !== "min_length" && issue.type !== "max_length") return undefined;
  const requirement = (issue as v.BaseIssue<unknown> & { requirement?: unknown }).requirement;
  if (typeof requirement !== "number") return undefined;

  const last = issue.path?.[issue.path.length - 1];
  const value: unknown = last === undefined ? issue.input : last.value;
  const noun = typeof value === "string" ? "character" : "item";
  const bound = issue.type === "min_length" ? "at least" : "at most";
  return `must have ${bound} ${requirement} ${noun}${requirement === 1 ? "" : "s"}`;
}
