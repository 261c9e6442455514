import { IllegalArgumentError } from '../index.js';

/**
 * Reads the `.properties` format exactly as `java.util.Properties.load` does, so a MultiLangDaemon
 * properties file means the same here as under Java:
 *
 * - a natural line ends at `\n`, `\r` or `\r\n`; a line ending in an odd number of backslashes continues on
 *   the next line, whose leading whitespace (space, tab, form feed) is dropped;
 * - blank lines and lines whose first non-whitespace character is `#` or `!` are skipped (a comment line is
 *   never continued);
 * - the key runs from the first non-whitespace character to the first unescaped `=`, `:` or whitespace; then
 *   whitespace, at most one `=` or `:`, and whitespace again are skipped; the rest of the line is the value
 *   (trailing whitespace kept);
 * - escapes in keys and values: `\t \n \r \f`, `\uXXXX` (exactly four hex digits, else an error), and `\x` → `x`
 *   for any other character (so `\=`, `\:`, `\ `, `\#`, `\\`);
 * - a key given twice keeps its last value.
 *
 * One difference: Java's `load(InputStream)` reads ISO-8859-1, the daemon reads files as UTF-8 (identical for
 * ASCII files, and `\uXXXX` escapes work in both).
 */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const { line, lineNumber } of logicalLines(text)) {
    const { key, value } = splitKeyValue(line, lineNumber);
    properties.set(key, value);
  }
  return properties;
}

const isWhitespace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\f';
const isLineEnd = (c: string | undefined): boolean => c === '\n' || c === '\r';

interface LogicalLine {
  /** Raw text of the logical line: continuations joined, escapes still in place. */
  line: string;
  /** 1-based number of the natural line it starts on. */
  lineNumber: number;
}

function* logicalLines(text: string): Generator<LogicalLine> {
  let i = 0;
  let lineNumber = 1;
  const n = text.length;
  /** Consumes one line terminator at `i` (`\r\n` counts as one). */
  const consumeLineEnd = (): void => {
    if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
    else i += 1;
    lineNumber += 1;
  };

  while (i < n) {
    while (isWhitespace(text[i])) i++;
    if (i >= n) break;
    if (isLineEnd(text[i])) {
      consumeLineEnd();
      continue;
    }
    const startLine = lineNumber;
    if (text[i] === '#' || text[i] === '!') {
      while (i < n && !isLineEnd(text[i])) i++;
      if (i < n) consumeLineEnd();
      continue;
    }
    let line = '';
    for (;;) {
      const start = i;
      while (i < n && !isLineEnd(text[i])) i++;
      let segment = text.slice(start, i);
      let backslashes = 0;
      while (backslashes < segment.length && segment[segment.length - 1 - backslashes] === '\\') backslashes++;
      const continues = backslashes % 2 === 1;
      if (continues) segment = segment.slice(0, -1);
      line += segment;
      if (i < n) consumeLineEnd();
      if (!continues || i >= n) break;
      while (isWhitespace(text[i])) i++;
    }
    yield { line, lineNumber: startLine };
  }
}

function splitKeyValue(line: string, lineNumber: number): { key: string; value: string } {
  let keyEnd = 0;
  let valueStart = line.length;
  let hasSeparator = false;
  let escaped = false;
  while (keyEnd < line.length) {
    const c = line[keyEnd];
    if ((c === '=' || c === ':') && !escaped) {
      valueStart = keyEnd + 1;
      hasSeparator = true;
      break;
    }
    if (isWhitespace(c) && !escaped) {
      valueStart = keyEnd + 1;
      break;
    }
    escaped = c === '\\' ? !escaped : false;
    keyEnd++;
  }
  while (valueStart < line.length) {
    const c = line[valueStart];
    if (!isWhitespace(c)) {
      if (!hasSeparator && (c === '=' || c === ':')) hasSeparator = true;
      else break;
    }
    valueStart++;
  }
  return {
    key: unescape(line.slice(0, keyEnd), lineNumber),
    value: unescape(line.slice(valueStart), lineNumber),
  };
}

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(raw: string, lineNumber: number): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= raw.length) break; // cannot happen after line joining; Java drops it too
    const next = raw[i]!;
    if (next === 'u') {
      const hex = raw.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new IllegalArgumentError(`Properties line ${lineNumber}: malformed \\uxxxx escape "\\u${hex}"`);
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else {
      out += ESCAPES[next] ?? next;
    }
  }
  return out;
}
