// Renders the demo's sample images (assets/samples/*.png): simple coloured shapes drawn here, so
// they carry no third-party licence. Run: node tools/samples/make-samples.mjs
import sharp from 'sharp';
import { mkdirSync } from 'node:fs';

const out = new URL('../../assets/samples/', import.meta.url);
mkdirSync(out, { recursive: true });
const shapes = {
  'red-circle': '<circle cx="112" cy="112" r="80" fill="#d62828"/>',
  'blue-square': '<rect x="40" y="40" width="144" height="144" fill="#1d4ed8"/>',
  'green-triangle': '<polygon points="112,30 200,190 24,190" fill="#2a9d45"/>',
  'yellow-star': '<polygon points="112,20 135,85 205,85 148,125 170,195 112,152 54,195 76,125 19,85 89,85" fill="#f4c20d"/>',
};
for (const [name, body] of Object.entries(shapes)) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="224" height="224"><rect width="224" height="224" fill="white"/>${body}</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(new URL(`${name}.png`, out).pathname);
}
