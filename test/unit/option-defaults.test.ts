import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  ENDPOINT_DEFAULTS,
  FANOUT_DEFAULTS,
  HTTP_DEFAULTS,
  LEASE_DEFAULTS,
  METRICS_DEFAULTS,
  POLLING_DEFAULTS,
  SCHEDULER_DEFAULTS,
  STREAM_CONFIG_DEFAULTS,
  TIMEOUT_DEFAULTS,
  PROCESSING_DEFAULTS,
} from '../../src/config/option-defaults.js';
import type { SchedulerOptions } from '../../src/config/options.js';
import { resolveOptions } from '../../src/config/resolve-options.js';
import { collectOptionDocs, splitDefaultValue, type OptionInterfaceDoc } from '../../scripts/options-tsdoc.mjs';

// The TSDoc `@defaultValue` tags, parsed as scripts/gen-config-docs.mjs parses them for docs/configuration.md.
const docs = collectOptionDocs(fileURLToPath(new URL('../../', import.meta.url)));

const DEFAULTS_BY_INTERFACE: Record<string, object> = {
  SchedulerOptions: SCHEDULER_DEFAULTS,
  PollingRetrievalOptions: POLLING_DEFAULTS,
  FanOutRetrievalOptions: FANOUT_DEFAULTS,
  LeaseOptions: LEASE_DEFAULTS,
  EndpointOptions: ENDPOINT_DEFAULTS,
  StreamConfig: STREAM_CONFIG_DEFAULTS,
  MetricsOptions: METRICS_DEFAULTS,
  HttpOptions: HTTP_DEFAULTS,
  TimeoutOptions: TIMEOUT_DEFAULTS,
  ProcessingOptions: PROCESSING_DEFAULTS,
};

/** The value of a literal TSDoc default (`10000`, `'LATEST'`, `{ mode: 'polling' }`, `Infinity`, ...). */
function literalValue(text: string): unknown {
  const source = ts.createSourceFile('default.ts', `(${text});`, ts.ScriptTarget.Latest, true);
  const statement = source.statements[0];
  if (source.statements.length !== 1 || statement === undefined || !ts.isExpressionStatement(statement)) throw new Error(`not an expression: ${text}`);
  const evaluate = (node: ts.Expression): unknown => {
    if (ts.isParenthesizedExpression(node)) return evaluate(node.expression);
    if (ts.isNumericLiteral(node)) return Number(node.text.replace(/_/g, ''));
    if (ts.isStringLiteral(node)) return node.text;
    if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
    if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
    if (node.kind === ts.SyntaxKind.NullKeyword) return null;
    if (ts.isIdentifier(node) && node.text === 'undefined') return undefined;
    if (ts.isIdentifier(node) && node.text === 'Infinity') return Number.POSITIVE_INFINITY;
    if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken) return -(evaluate(node.operand) as number);
    if (ts.isArrayLiteralExpression(node)) return node.elements.map((e) => evaluate(e));
    if (ts.isObjectLiteralExpression(node)) {
      return Object.fromEntries(
        node.properties.map((p) => {
          if (!ts.isPropertyAssignment(p)) throw new Error(`unsupported property in ${text}`);
          return [p.name.getText(source), evaluate(p.initializer)];
        }),
      );
    }
    throw new Error(`not a literal: ${text}`);
  };
  return evaluate(statement.expression);
}

/** Where an interface's TSDoc and its defaults object disagree (empty: they agree). */
function mismatches(doc: OptionInterfaceDoc, defaults: object): string[] {
  const out: string[] = [];
  const values = defaults as Record<string, unknown>;
  const documented = doc.members.map((m) => m.name).sort();
  const keys = Object.keys(defaults).sort();
  if (documented.join() !== keys.join()) out.push(`${doc.name}: keys ${keys.join(', ')} ≠ documented ${documented.join(', ')}`);
  for (const member of doc.members) {
    const key = `${doc.name}.${member.name}`;
    const value = values[member.name];
    if (member.defaultValue === undefined || member.defaultValue === '') {
      // Required, or optional without a default (e.g. one of streamName / streamArn). A required discriminant
      // (`mode: 'polling'`) may hold its one value.
      const discriminant = !member.optional && /^'[^']*'$/.test(member.type) ? literalValue(member.type) : undefined;
      if (value !== discriminant) out.push(`${key}: no @defaultValue, but the defaults hold ${String(value)}`);
      continue;
    }
    const { head, looksLikeCode } = splitDefaultValue(member.defaultValue);
    if (looksLikeCode) {
      try {
        assert.deepEqual(value, literalValue(head));
      } catch {
        out.push(`${key}: @defaultValue ${head}, but the defaults hold ${JSON.stringify(value) ?? String(value)}`);
      }
    } else if (value !== undefined && typeof value !== 'object' && typeof value !== 'function') {
      // Prose ("the `applicationName`", "failoverTimeMillis / 5") is computed in resolve-options.ts; a plain value
      // behind prose would be a default the docs do not state.
      out.push(`${key}: @defaultValue is prose (${member.defaultValue}), but the defaults hold the literal ${JSON.stringify(value)}`);
    }
  }
  return out;
}

describe('option defaults: one source, held to the @defaultValue tags of src/config/options.ts', () => {
  it('has a defaults object for every options interface of the TSDoc', () => {
    assert.deepEqual([...docs.interfaces.keys()].sort(), Object.keys(DEFAULTS_BY_INTERFACE).sort());
  });

  for (const [name, defaults] of Object.entries(DEFAULTS_BY_INTERFACE)) {
    it(`${name}: same keys as the interface, every literal @defaultValue equal to the defaults object`, () => {
      assert.deepEqual(mismatches(docs.interfaces.get(name)!, defaults), []);
    });
  }

  it('reports drift: a changed default, a missing key and an undocumented literal behind prose', () => {
    const leases = docs.interfaces.get('LeaseOptions')!;
    const { tableName: _dropped, ...withoutTableName } = LEASE_DEFAULTS;
    assert.equal(mismatches(leases, { ...LEASE_DEFAULTS, maxLeasesToStealAtOneTime: 1 }).length, 1);
    assert.match(mismatches(leases, withoutTableName)[0]!, /keys/);
    assert.match(mismatches(leases, { ...LEASE_DEFAULTS, takerIntervalMillis: 2000 })[0]!, /prose/);
    assert.equal(literalValue("{ mode: 'polling' }") instanceof Object, true);
    assert.deepEqual(literalValue('8388608'), 8 * 1024 * 1024);
  });

  it('resolveOptions fills in exactly these defaults', () => {
    const processorFactory = () => ({ initialize() {}, processRecords() {}, leaseLost() {}, shardEnded() {} });
    const base: SchedulerOptions = { applicationName: 'orders-app', streamName: 'orders', processorFactory };
    const polling = resolveOptions(base);
    const fanout = resolveOptions({ ...base, retrieval: { mode: 'fanout' }, http: { port: 0 } });
    const multi = resolveOptions({ applicationName: 'orders-app', streams: [{ streamName: 'orders' }], processorFactory });
    assert.equal(multi.streams!.trackerIntervalMillis, SCHEDULER_DEFAULTS.streamTrackerIntervalMillis);
    const pairs: [object, object][] = [
      [polling, SCHEDULER_DEFAULTS],
      [polling.leases, LEASE_DEFAULTS],
      [polling.retrieval, POLLING_DEFAULTS],
      [fanout.retrieval, FANOUT_DEFAULTS],
      [polling.metrics, METRICS_DEFAULTS],
      [fanout.http!, HTTP_DEFAULTS],
    ];
    for (const [group, defaults] of pairs) {
      const resolved = group as Record<string, unknown>;
      for (const [key, value] of Object.entries(defaults)) {
        // Nested option objects are resolved into their own groups (checked above); undefined ones are computed.
        if (value === undefined || (typeof value === 'object' && !(key === 'logger' || key === 'clock'))) continue;
        if (key === 'streamTrackerIntervalMillis') continue; // resolved into `streams`, checked above
        if (key === 'logLevel') continue; // resolved into the built-in `logger` (test/unit/first-hour.test.ts)
        assert.equal(resolved[key], value, `resolved ${key}`);
      }
    }
  });
});
