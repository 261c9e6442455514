#!/usr/bin/env node
// Renders docs/configuration.md from the TSDoc of the Scheduler's options (src/config/options.ts and
// src/config/observability-options.ts), with the TypeScript compiler's parser: one section per options
// interface reachable from `SchedulerOptions`, one entry per option with its type, `@defaultValue` and text.
//
//   node scripts/gen-config-docs.mjs           write docs/configuration.md   (npm run docs)
//   node scripts/gen-config-docs.mjs --check   exit 1 if the committed file differs from a fresh render (CI)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SOURCES = ['src/config/options.ts', 'src/config/observability-options.ts', 'src/config/timeout-options.ts'];
const OUTPUT = 'docs/configuration.md';
const ROOT_INTERFACE = 'SchedulerOptions';

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

function collect() {
  const interfaces = new Map();
  const aliases = new Map();
  for (const file of SOURCES) {
    const text = readFileSync(join(ROOT, file), 'utf8');
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

/** Names of options interfaces a type text refers to, directly or through the type aliases of the sources. */
function referencedInterfaces(typeText, interfaces, aliases, seen = new Set()) {
  const found = [];
  for (const [, name] of typeText.matchAll(/\b([A-Z]\w*)\b/g)) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (interfaces.has(name)) found.push(name);
    else if (aliases.has(name)) found.push(...referencedInterfaces(aliases.get(name).type, interfaces, aliases, seen));
  }
  return found;
}

/** Sections in reading order: the root interface, then each nested options interface with its key prefix. */
function sections({ interfaces, aliases }) {
  const out = [];
  const queue = [{ name: ROOT_INTERFACE, prefix: '', via: undefined }];
  const done = new Set();
  while (queue.length) {
    const { name, prefix, via } = queue.shift();
    if (done.has(name)) continue;
    done.add(name);
    const spec = interfaces.get(name);
    out.push({ spec, prefix, via });
    for (const member of spec.members) {
      for (const nested of referencedInterfaces(member.type, interfaces, aliases)) {
        const isArray = new RegExp(`\\b${nested}\\s*\\[\\]`).test(member.type) || /\[\]/.test(aliases.get(member.type)?.type ?? '');
        queue.push({ name: nested, prefix: `${prefix}${member.name}${isArray ? '[]' : ''}.`, via: `${prefix}${member.name}` });
      }
    }
  }
  return out;
}

const cell = (text) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
const code = (text) => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``);
/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function slugger() {
  const used = new Map();
  return (heading) => {
    const base = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  };
}

/** A default value as written in TSDoc: code-like values in backticks, prose as is. */
function renderDefault(member) {
  if (!member.optional) return 'required';
  const value = member.defaultValue;
  if (value === undefined || value === '') return '—';
  const m = /^(.*?)(\s+\([^()]*\))?$/s.exec(value);
  const head = m[1];
  const looksLikeCode = /^([{['"\d-]|(undefined|true|false|null|Infinity)$)/.test(head) && !head.includes('`');
  return looksLikeCode ? `${code(head)}${m[2] ?? ''}` : value;
}

function render(model) {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs` (scripts/gen-config-docs.mjs) from the TSDoc in',
    `     ${SOURCES.join(' and ')}. Do not edit by hand: change the TSDoc and run \`npm run docs\`;`,
    '     CI fails when this file differs from a fresh render. -->',
    '',
    'Every option of `new Scheduler(options)`. Options are validated once, in the constructor: a missing, unknown or',
    'out-of-range option throws a `ConfigError` whose `key` is the dotted path used below (e.g.',
    '`leases.failoverTimeMillis`). Times are in milliseconds.',
    '',
  ];
  const all = sections(model);
  // Anchors in heading order, as GitHub numbers repeated headings (polling and fan-out share `retrieval.*`).
  const slug = slugger();
  const anchors = new Map();
  for (const { spec, prefix } of all) {
    anchors.set(spec.name, slug(spec.name));
    for (const member of spec.members) anchors.set(`${spec.name}/${member.name}`, slug(`${prefix}${member.name}`));
  }
  lines.push('Sections:', '');
  for (const { spec, via } of all) lines.push(`- [${via ? `\`${via}\`` : 'Top level'}: \`${spec.name}\`](#${anchors.get(spec.name)})`);
  lines.push('');

  for (const { spec, prefix, via } of all) {
    lines.push(`## ${spec.name}`, '');
    if (via) lines.push(`Under \`${via}\`.`, '');
    if (spec.text) lines.push(spec.text, '');
    for (const example of spec.examples) lines.push(example, '');
    lines.push('| option | type | default |', '|---|---|---|');
    for (const member of spec.members) {
      const key = `${prefix}${member.name}`;
      lines.push(`| [\`${key}\`](#${anchors.get(`${spec.name}/${member.name}`)}) | ${cell(code(member.type))} | ${cell(renderDefault(member))} |`);
    }
    lines.push('');
    for (const member of spec.members) {
      const key = `${prefix}${member.name}`;
      lines.push(`### ${key}`, '');
      lines.push(`Type: ${code(member.type)}. Default: ${renderDefault(member)}.`, '');
      if (member.text) lines.push(member.text, '');
      for (const example of member.examples) lines.push(example, '');
    }
  }

  const aliases = [...model.aliases.values()];
  if (aliases.length) {
    lines.push('## Types', '');
    for (const alias of aliases) {
      lines.push(`### ${alias.name}`, '', '```ts', `type ${alias.name} = ${alias.type};`, '```', '');
      if (alias.text) lines.push(alias.text, '');
    }
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

const rendered = render(collect());
const target = join(ROOT, OUTPUT);
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // missing: reported below
  }
  if (committed !== rendered) {
    console.error(`${OUTPUT} is out of date with the TSDoc of ${SOURCES.join(', ')}: run \`npm run docs\` and commit it.`);
    process.exit(1);
  }
  console.log(`${OUTPUT} is up to date`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, rendered);
  console.log(`wrote ${OUTPUT}`);
}
