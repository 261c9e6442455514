/**
 * The non-empty lines of `text` that end with a newline. Test processes append JSON lines to files (and stdout)
 * while tests read them, so what is read may end inside a line still being written: that last line is left out.
 */
export function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a line not finished yet
  return lines.filter((l) => l.trim() !== '');
}
