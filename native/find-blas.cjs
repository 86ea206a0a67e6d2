// Locates a CBLAS for node-gyp (binding.gyp calls this with "cflags" or "libs").
// Linux: OpenBLAS through pkg-config, or Debian's default include/lib locations.
// When nothing is found we stop the build with the package to install, instead of
// letting the compiler fail later with "cblas.h: No such file or directory".
'use strict';
const { execSync } = require('node:child_process');
const fs = require('node:fs');

const what = process.argv[2];
function pkgConfig(flag) {
  for (const name of ['openblas', 'openblas64', 'cblas']) {
    try {
      return execSync(`pkg-config ${flag} ${name}`, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch { /* try the next name */ }
  }
  return null;
}
const multiarch = ['x86_64-linux-gnu', 'aarch64-linux-gnu'];
const debianInclude = [
  ...multiarch.flatMap((m) => [`/usr/include/${m}/openblas-pthread`, `/usr/include/${m}/openblas-openmp`, `/usr/include/${m}/openblas-serial`]),
  '/usr/include/openblas', '/usr/include']
  .find((d) => fs.existsSync(`${d}/cblas.h`) && fs.existsSync(`${d}/openblas_config.h`));
const found = pkgConfig('--exists') !== null || debianInclude !== undefined;
if (!found) {
  process.stderr.write(
    '\nclip-ts: no CBLAS found (OpenBLAS). Install it first:\n' +
    '    sudo apt-get install -y libopenblas-dev pkg-config     (Debian/Ubuntu)\n' +
    '    sudo dnf install -y openblas-devel                      (Fedora)\n\n');
  process.exit(1);
}
if (what === 'cflags') {
  const flags = pkgConfig('--cflags');
  process.stdout.write(flags ?? `-I${debianInclude}`);
} else if (what === 'libs') {
  const libs = pkgConfig('--libs');
  process.stdout.write(libs ?? '-lopenblas');
} else {
  process.stderr.write('usage: find-blas.cjs cflags|libs\n');
  process.exit(2);
}
