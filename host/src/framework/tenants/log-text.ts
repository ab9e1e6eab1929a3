/**
 * Escaping of untrusted text (plugin output, error messages, token subjects,
 * revocation reasons) before it goes into a log line, so that it cannot end the
 * line early and write a line that looks like the host's own.
 *
 * @module
 */

// Every Unicode control character (C0, DEL and C1) except the tab.
const CONTROL_CHARACTERS = /[\0-\x08\n-\x1f\x7f-\x9f]/g;

/**
 * Returns `text` with each control character other than tab written as a
 * `\u00XX` escape, so newlines, carriage returns and NUL cannot start a new line.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
