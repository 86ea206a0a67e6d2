// Locates libjpeg(-turbo) for node-gyp (binding.gyp calls this with "cflags" or "libs").
// pkg-config first, then the usual Debian and Homebrew locations. Without it, native/jpeg.cc is
// compiled out (-DCLIP_TS_NO_JPEG) and JPEGs are decoded with sharp: slower, same pixels.
// CLIP_TS_NO_JPEG=1 in the environment forces that.
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const what = process.argv[2];
function pkgConfig(flag) {
  for (const name of ['libjpeg', 'libturbojpeg']) {
    try {
      return execSync(`pkg-config ${flag} ${name}`, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch { /* try the next name */ }
  }
  return null;
}
function find() {
  if (process.env.CLIP_TS_NO_JPEG === '1') return null;
  const cflags = pkgConfig('--cflags');
  const libs = pkgConfig('--libs');
  if (cflags !== null && libs !== null && /-ljpeg\b/.test(libs)) return { cflags, libs };
  for (const prefix of ['/usr', '/usr/local', '/opt/homebrew/opt/jpeg-turbo', '/usr/local/opt/jpeg-turbo',
    '/opt/homebrew/opt/jpeg', '/usr/local/opt/jpeg', '/opt/homebrew', '/opt/local']) {
    if (!fs.existsSync(`${prefix}/include/jpeglib.h`)) continue;
    const system = prefix === '/usr';
    return { cflags: system ? '' : `-I${prefix}/include`, libs: system ? '-ljpeg' : `-L${prefix}/lib -ljpeg` };
  }
  return null;
}

const found = find();
if (what === 'cflags') {
  if (found === null) {
    process.stderr.write('clip-ts: libjpeg not found (apt-get install libjpeg62-turbo-dev, brew install jpeg-turbo): ' +
      'JPEGs will be decoded with sharp\n');
  }
  process.stdout.write(found === null ? '-DCLIP_TS_NO_JPEG' : found.cflags);
} else if (what === 'libs') {
  process.stdout.write(found === null ? '' : found.libs);
} else {
  process.stderr.write('usage: find-jpeg.cjs cflags|libs\n');
  process.exit(2);
}
