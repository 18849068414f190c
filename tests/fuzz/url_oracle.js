// Licensed under the Apache License, Version 2.0; see the LICENSE file at
// the top of this tree.
//
// Differential check of rai_hosts_url_trusted() against a real WHATWG URL
// parser (Node's URL): random URL-ish values, resolved against a page URL;
// every value the C code trusts must resolve to the page's own host or to
// a trusted one.  Values it refuses that stay on the site are counted
// (fail closed), not errors.
//
//   cc -O2 -I. -o tests/fuzz/url_verdict.bin tests/fuzz/url_verdict.c rai_tag.c
//   node tests/fuzz/url_oracle.js [COUNT] [PAGE-URL]
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');

const count = Number(process.argv[2] || 200000);
const page = process.argv[3] || 'https://site.example/dir/page';
const pieces = [
  'https:', 'http:', 'HTTPS:', 'ws:', 'wss:', 'ftp:', 'javascript:', 'data:',
  'blob:', 'file:', '/', '//', '\\', '\\\\', '/\\', '\t', '\n', '\r', ' ',
  '\x01', '\x1f', '\x7f', '@', ':', ':443', ':80', '#', '?', '%', '%2e',
  '%40', 'returning.ai', 'api.returning.ai', 'RETURNING.AI', '.', '..',
  'evil.example', 'evil', '[::1]', '[', ']', 'a', 'x', '0', '1.2.3.4',
  '0x7f.1', '\u00e9', '\uff0e', '\u3002', '\u00ad', '\u200b', 'xn--', '-',
  '_', '~', '^', '|', '<', '>', '"', "'", '`', '{', '}', ';', ',', '=', '&',
  '+', '*', '!', '$', '(', ')',
];
const pick = (n) => Math.floor(Math.random() * n);

const inputs = [];
for (let i = 0; i < count; i++) {
  let value = '';
  for (let k = 1 + pick(8); k > 0; k--) value += pieces[pick(pieces.length)];
  inputs.push(value);
}
const verdicts = execFileSync(path.join(__dirname, 'url_verdict.bin'), {
  input: inputs.map((v) => Buffer.from(v, 'utf8').toString('hex')).join('\n') + '\n',
  maxBuffer: 1 << 28,
}).toString().trim().split('\n');

const own = new URL(page).hostname;
let unsafe = 0, closed = 0;
inputs.forEach((value, i) => {
  let host = null;
  try {
    host = new URL(value, page).hostname.replace(/\.$/, '');
  } catch (e) {
    host = null;            // no URL: goes nowhere
  }
  const fine = host === null || host === '' || host === own
               || host === 'returning.ai' || host.endsWith('.returning.ai');
  if (verdicts[i] === '1' && !fine) {
    if (unsafe++ < 20) console.log('trusted, but goes to', host, JSON.stringify(value));
  }
  if (verdicts[i] === '0' && host === own) closed++;
});
console.log(`${inputs.length} values, ${unsafe} trusted wrongly, ` +
            `${closed} refused though same-site (fail closed)`);
process.exit(unsafe ? 1 : 0);
