import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProperties } from '../../src/multilang/properties-parser.js';
import { IllegalArgumentError } from '../../src/index.js';

const parse = (text: string): Record<string, string> => Object.fromEntries(parseProperties(text));

describe('parseProperties (java.util.Properties.load semantics)', () => {
  it('separators: =, :, whitespace, and whitespace around them', () => {
    assert.deepEqual(parse('a=1\nb:2\nc 3\nd\t4\ne = 5\nf : 6\ng   =   7\nh\f8\ni =: 9\nj :=10'), {
      a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '7', h: '8', i: ': 9', j: '=10',
    });
  });

  it('a key alone, or with an empty value', () => {
    assert.deepEqual(parse('alone\nempty=\nspaced =   \n'), { alone: '', empty: '', spaced: '' });
  });

  it('keeps trailing whitespace of values, drops leading whitespace of lines', () => {
    assert.deepEqual(parse('   key = value  \n\t\fother=x'), { key: 'value  ', other: 'x' });
  });

  it('comments with # and ! (also after leading whitespace), blank lines, and # inside values', () => {
    assert.deepEqual(parse('# c1\n! c2\n   # c3\n\n \t \nk=v # not a comment\nk2=a!b'), { k: 'v # not a comment', k2: 'a!b' });
  });

  it('a comment line ending in a backslash does not continue', () => {
    assert.deepEqual(parse('# comment \\\nk=v'), { k: 'v' });
  });

  it('line continuations drop the backslash and the next line’s leading whitespace', () => {
    assert.deepEqual(parse('list = a, \\\n        b, \\\n\tc\nnext=1'), { list: 'a, b, c', next: '1' });
    assert.deepEqual(parse('k\\\n  ey = v'), { key: 'v' });
  });

  it('an even number of trailing backslashes is an escaped backslash, not a continuation', () => {
    assert.deepEqual(parse('path=C:\\\\dir\\\\\nnext=1'), { path: 'C:\\dir\\', next: '1' });
    assert.deepEqual(parse('odd=a\\\\\\\n  b'), { odd: 'a\\b' });
  });

  it('a continued line may look like a comment and is still part of the value', () => {
    assert.deepEqual(parse('k=a\\\n  # b'), { k: 'a# b' });
  });

  it('a continuation followed by a blank line ends the value; at end of file the backslash is dropped', () => {
    assert.deepEqual(parse('k=a\\\n\nx=1'), { k: 'a', x: '1' });
    assert.deepEqual(parse('k=a\\'), { k: 'a' });
    assert.deepEqual(parse('k=a\\\n'), { k: 'a' });
  });

  it('\\r, \\n and \\r\\n all end lines', () => {
    assert.deepEqual(parse('a=1\rb=2\r\nc=3\nd=4'), { a: '1', b: '2', c: '3', d: '4' });
    assert.deepEqual(parse('a=x\\\r\n   y\r\nb=2'), { a: 'xy', b: '2' });
  });

  it('escapes: \\t \\n \\r \\f, \\uXXXX, and any other escaped character stands for itself', () => {
    assert.deepEqual(parse('k=a\\tb\\nc\\rd\\fe'), { k: 'a\tb\nc\rd\fe' });
    assert.deepEqual(parse('k=\\u00e9\\u0041\\u20AC'), { k: 'éA€' });
    assert.deepEqual(parse('k=\\q\\#\\!\\\\'), { k: 'q#!\\' });
  });

  it('escaped separators and spaces inside keys', () => {
    assert.deepEqual(parse('a\\=b=c\nx\\:y:z\nsp\\ ace = v\n\\#notcomment=1'), { 'a=b': 'c', 'x:y': 'z', 'sp ace': 'v', '#notcomment': '1' });
  });

  it('a repeated key keeps its last value', () => {
    assert.deepEqual(parse('k=1\nk=2'), { k: '2' });
  });

  it('a malformed \\u escape fails with the line number', () => {
    assert.throws(() => parse('ok=1\n\nbad=\\u12G4'), (e: unknown) => e instanceof IllegalArgumentError && /line 3/.test(e.message));
    assert.throws(() => parse('bad=\\u12'), IllegalArgumentError);
  });

  it('reads the aws-kcl sample layout', () => {
    const text = [
      '# The script that abides by the multi-language protocol.',
      'executableName = node sample_kcl_app.js',
      '',
      'streamName = kclnodejssample',
      'applicationName = kclnodejssample',
      'AWSCredentialsProvider = DefaultAWSCredentialsProviderChain',
      'processingLanguage = nodejs/0.10',
      'initialPositionInStream = TRIM_HORIZON',
      'regionName = us-east-1',
      '#failoverTimeMillis = 10000',
      '#workerId =',
      '#metricsEnabledDimensions = Operation,ShardId',
    ].join('\n');
    assert.deepEqual(parse(text), {
      executableName: 'node sample_kcl_app.js',
      streamName: 'kclnodejssample',
      applicationName: 'kclnodejssample',
      AWSCredentialsProvider: 'DefaultAWSCredentialsProviderChain',
      processingLanguage: 'nodejs/0.10',
      initialPositionInStream: 'TRIM_HORIZON',
      regionName: 'us-east-1',
    });
  });
});
