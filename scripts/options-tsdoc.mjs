// The TSDoc model of the Scheduler's options, parsed with the TypeScript compiler: what scripts/gen-config-docs.mjs
// renders into docs/configuration.md and what test/unit/option-defaults.test.ts holds the defaults object to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export const SOURCES = ['src/config/options.ts', 'src/config/observability-options.ts', 'src/config/timeout-options.ts'];

/** Comment text of a JSDoc node (`comment` is a string or a list of text/link parts). */
function commentText(comment) {
  if (comment === undefined) return '';
  if (typeof comment === 'string') return comment;
  return comment.map((part) => (part.kind === ts.SyntaxKind.JSDocText ? part.text : `\`${part.name?.getText() ?? ''}${part.text}\``)).join('');
}

function docOf(node) {
  const docs = node.jsDoc ?? [];
  const doc = docs[docs.length - 1];
  const result = { text: '', defaultValue: undefined, examples: [] };
  if (!doc) return result;
  result.text = commentText(doc.comment).trim();
  for (const tag of doc.tags ?? []) {
    const name = tag.tagName.text;
    const text = commentText(tag.comment).trim();
    if (name === 'defaultValue' || name === 'default') result.defaultValue = text;
    else if (name === 'example') result.examples.push(text);
  }
  return result;
}

/** Every interface and type alias of the option sources, with each member's type, `@defaultValue` and text. */
export function collectOptionDocs(root) {
  const interfaces = new Map();
  const aliases = new Map();
  for (const file of SOURCES) {
    const text = readFileSync(join(root, file), 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    for (const statement of source.statements) {
      if (ts.isInterfaceDeclaration(statement)) {
        const members = statement.members.filter(ts.isPropertySignature).map((member) => ({
          name: member.name.getText(source),
          optional: member.questionToken !== undefined,
          type: member.type ? member.type.getText(source).replace(/\s+/g, ' ') : 'unknown',
          ...docOf(member),
        }));
        interfaces.set(statement.name.text, { name: statement.name.text, file, ...docOf(statement), members });
      } else if (ts.isTypeAliasDeclaration(statement)) {
        aliases.set(statement.name.text, {
          name: statement.name.text,
          file,
          type: statement.type.getText(source).replace(/\s+/g, ' '),
          ...docOf(statement),
        });
      }
    }
  }
  return { interfaces, aliases };
}

/**
 * A `@defaultValue` text split into its value and a trailing parenthetical note: `8388608 (8 MiB)` → `8388608` and
 * ` (8 MiB)`. `looksLikeCode`: the value is a literal (number, string, object, array, `undefined`, `true`, ...)
 * rather than prose such as "the `applicationName`".
 */
export function splitDefaultValue(value) {
  const m = /^(.*?)(\s+\([^()]*\))?$/s.exec(value);
  const head = m[1];
  const looksLikeCode = /^([{['"\d-]|(undefined|true|false|null|Infinity)$)/.test(head) && !head.includes('`');
  return { head, note: m[2] ?? '', looksLikeCode };
}
