// Latin ligatures and legacy digraph characters are nearly always copy-and-paste accidents in plain
// text; ftfy spells them out. (Ligatures such as æ that are used on purpose are left alone.)
const LIGATURES: ReadonlyMap<string, string> = new Map([
  ['\u0132', 'IJ'], ['\u0133', 'ij'], // Dutch
  ['\u0149', '\u02bcn'], // Afrikaans ŉ, meant to dodge auto-curled quotes
  ['\u01f1', 'DZ'], ['\u01f2', 'Dz'], ['\u01f3', 'dz'], // digraphs made for Serbian/Croatian transliteration
  ['\u01c4', 'D\u017d'], ['\u01c5', 'D\u017e'], ['\u01c6', 'd\u017e'],
  ['\u01c7', 'LJ'], ['\u01c8', 'Lj'], ['\u01c9', 'lj'],
  ['\u01ca', 'NJ'], ['\u01cb', 'Nj'], ['\u01cc', 'nj'],
  ['\ufb00', 'ff'], ['\ufb01', 'fi'], ['\ufb02', 'fl'], ['\ufb03', 'ffi'], ['\ufb04', 'ffl'], // typographic
  ['\ufb05', '\u017ft'], ['\ufb06', 'st'],
]);

const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

export function fixLatinLigatures(text: string): string {
  return text.replace(LIGATURE_RE, (c) => LIGATURES.get(c) ?? c);
}
