import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSinkiError } from '../../../src/errors.js';
import { Subkeys } from '../../../src/repo/subkeys.js';
import { encodeBinaryTree } from '../../../src/repo/tree-binary.js';
import { compareNames, decodeTree, encodeTree, isSafeName, type TreeNode } from '../../../src/repo/tree.js';

// Names are what restore joins onto its target: a tree whose names are not unique, sorted and safe
// is damage, whatever its encoding (a link and a folder of one name would make restore write through the link).

const keys = new Subkeys({ encKey: randomBytes(32), idKey: randomBytes(32) }, 'aes-128-gcm', randomBytes(16).toString('hex'), true);
const idOfSha256 = (sha: Buffer): string => keys.blobIdOfSha256(sha);

/** The two encodings, written exactly as given: no sorting, no checks (what a hostile key holder can store). */
const encodings = [
  { name: 'format 2 (binary)', raw: (nodes: TreeNode[]) => encodeBinaryTree(nodes, idOfSha256), decode: (b: Buffer) => decodeTree(b, 'tree t', idOfSha256) },
  { name: 'format 1 (JSON)', raw: (nodes: TreeNode[]) => Buffer.from(JSON.stringify({ nodes })), decode: (b: Buffer) => decodeTree(b, 'tree t') },
];

const link = (name: string): TreeNode => ({ name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtimeNs: '1', size: 0, target: '/etc' });
const dir = (name: string): TreeNode => ({ name, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1', size: 0, subtree: 'ab'.repeat(32) });
const file = (name: string): TreeNode => ({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '1', size: 0, chunks: [] });

function expectCorrupt(fn: () => unknown, message: RegExp): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isSinkiError(err, 'CORRUPT'), `expected SinkiError CORRUPT, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(message);
}

describe.each(encodings)('tree names, $name', ({ raw, decode }) => {
  it('a link and a folder of the same name, in either order, are CORRUPT (duplicate entry name)', () => {
    expectCorrupt(() => decode(raw([link('a'), dir('a')])), /^tree t: duplicate entry name "a"$/);
    expectCorrupt(() => decode(raw([dir('a'), link('a')])), /duplicate entry name "a"/);
    expectCorrupt(() => decode(raw([file('a'), file('b'), file('b'), file('c')])), /duplicate entry name "b"/);
  });

  it('names out of order are CORRUPT', () => {
    expectCorrupt(() => decode(raw([file('b'), file('a')])), /^tree t: entry names out of order \("a" after "b"\)$/);
    // The order is JavaScript's (UTF-16 code units): 'B' < 'a' < 'é'.
    expectCorrupt(() => decode(raw([file('a'), file('B')])), /out of order/);
    expect(decode(raw([file('B'), file('a'), file('é')])).nodes.map((n) => n.name)).toEqual(['B', 'a', 'é']);
  });

  it('unsafe names are CORRUPT: empty, ".", "..", with "/" or NUL', () => {
    for (const bad of ['', '.', '..', '../x', 'a/b', '/abs', 'x\0y']) {
      expectCorrupt(() => decode(raw([dir(bad)])), /invalid entry name/);
      expectCorrupt(() => decode(raw([file('0'), link(bad)])), /invalid entry name/);
    }
  });

  it('any list of safe names decodes exactly when each is after the one before', () => {
    const name = fc.string({ minLength: 1, maxLength: 4, unit: fc.constantFrom('a', 'b', 'B', '.', 'é', '日') }).filter(isSafeName);
    fc.assert(
      fc.property(fc.array(name, { maxLength: 6 }), (names) => {
        const buf = raw(names.map(file));
        const ordered = names.every((n, i) => i === 0 || compareNames(names[i - 1]!, n) < 0);
        if (ordered) expect(decode(buf).nodes.map((n) => n.name)).toEqual(names);
        else expectCorrupt(() => decode(buf), /duplicate entry name|out of order/);
      }),
    );
  });
});

describe('tree names: writers', () => {
  it('a JSON tree with a lone UTF-16 surrogate in a name is CORRUPT (two such names would be one name on disk)', () => {
    expect(isSafeName('\ud800')).toBe(false);
    expect(isSafeName('a\ud83d\ude00')).toBe(true);
    expectCorrupt(() => decodeTree(Buffer.from(JSON.stringify({ nodes: [file('x\ud800')] })), 'tree t'), /invalid entry name/);
  });

  it('encodeTree sorts names into the order decode demands, and refuses to store a duplicate or unsafe name (FATAL)', () => {
    for (const binary of [idOfSha256, undefined]) {
      expect(decodeTree(encodeTree({ nodes: [file('é'), file('b'), file('B'), file('a')] }, binary), 't', binary).nodes.map((n) => n.name)).toEqual([
        'B',
        'a',
        'b',
        'é',
      ]);
      // UTF-16 order, not UTF-8's: U+1F600 (a surrogate pair, D83D DE00) comes before U+FF01.
      expect(decodeTree(encodeTree({ nodes: [file('\uff01'), file('\u{1f600}')] }, binary), 't', binary).nodes.map((n) => n.name)).toEqual([
        '\u{1f600}',
        '\uff01',
      ]);
      for (const nodes of [[link('a'), dir('a')], [file('..')], [file('a/b')], [file('')]]) {
        let err: unknown = null;
        try {
          encodeTree({ nodes }, binary);
        } catch (e) {
          err = e;
        }
        expect(isSinkiError(err, 'FATAL'), String(err)).toBe(true);
      }
    }
  });
});
