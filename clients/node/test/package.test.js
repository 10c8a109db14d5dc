/*
 * package.test.js - the package metadata tells the truth: the source tree
 * carries no license (docs/packaging.md, "License"), so package.json
 * grants none ("UNLICENSED", and "private" so npm will not publish it by
 * mistake), and the lock file's root entry says the same.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const read = (name) => JSON.parse(fs.readFileSync(path.join(root, name),
  'utf8'));

test('package.json grants no license and is private', () => {
  const pkg = read('package.json');
  assert.equal(pkg.license, 'UNLICENSED');
  assert.equal(pkg.private, true);
});

test('package-lock.json\'s root entry agrees with package.json', () => {
  const pkg = read('package.json');
  const lock = read('package-lock.json').packages[''];
  assert.equal(lock.license, pkg.license);
  assert.equal(lock.name, pkg.name);
  assert.equal(lock.version, pkg.version);
});
