// Control characters with no visible effect are removed: C0 controls other than tab, LF, FF and CR,
// DEL, the deprecated Arabic format controls U+206A..U+206F, the byte-order mark U+FEFF, and the
// interlinear annotation characters and object replacement character U+FFF9..U+FFFC. C1 controls,
// joiners and bidirectional controls are kept.
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

export function removeControlChars(text: string): string {
  return text.replace(CONTROL_RE, '');
}
